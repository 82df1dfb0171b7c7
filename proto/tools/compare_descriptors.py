#!/usr/bin/env python3
"""Compare two compiled FileDescriptorSets for gRPC wire compatibility.

Usage:
    python compare_descriptors.py OURS.pb REFERENCE.pb [SERVICE ...]

Both inputs are produced with `protoc --include_imports --descriptor_set_out=...`
(for example through `python -m grpc_tools.protoc`). If no service names are
given, qdrant.Qdrant, qdrant.Collections, qdrant.Points and qdrant.Snapshots are
checked.

For every service: the fully-qualified RPC names, input/output types and
streaming flags must match. Starting from the RPC input/output types, every
message and enum reachable (transitively) in either set is compared:
messages by field number, name, type, type_name, label, proto3_optional,
oneof membership and `packed` option; enums by value names and numbers.
Reserved ranges/names and `deprecated` markers are reported as notes only,
because they do not change the encoding.

Exit status is 0 only when there are no mismatches and nothing is missing.
"""

import sys

from google.protobuf import descriptor_pb2

DEFAULT_SERVICES = [
    "qdrant.Qdrant",
    "qdrant.Collections",
    "qdrant.Points",
    "qdrant.Snapshots",
]

F = descriptor_pb2.FieldDescriptorProto
TYPE_NAMES = {v: k for k, v in F.Type.items()}
LABEL_NAMES = {v: k for k, v in F.Label.items()}


def load(path):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as fh:
        fds.ParseFromString(fh.read())
    return fds


class Index:
    """Fully-qualified name -> descriptor, for messages, enums and services."""

    def __init__(self, fds):
        self.messages = {}
        self.enums = {}
        self.services = {}
        self.origin = {}
        for f in fds.file:
            prefix = "." + f.package if f.package else ""
            for m in f.message_type:
                self._add_message(prefix, m, f.name)
            for e in f.enum_type:
                self.enums[prefix + "." + e.name] = e
                self.origin[prefix + "." + e.name] = f.name
            for s in f.service:
                self.services[(prefix + "." + s.name).lstrip(".")] = s

    def _add_message(self, prefix, m, fname):
        name = prefix + "." + m.name
        self.messages[name] = m
        self.origin[name] = fname
        for nested in m.nested_type:
            self._add_message(name, nested, fname)
        for e in m.enum_type:
            self.enums[name + "." + e.name] = e
            self.origin[name + "." + e.name] = fname

    def reachable(self, roots):
        seen_m, seen_e = set(), set()
        stack = list(roots)
        while stack:
            name = stack.pop()
            if name in self.enums:
                seen_e.add(name)
                continue
            if name in seen_m or name not in self.messages:
                continue
            seen_m.add(name)
            for fld in self.messages[name].field:
                if fld.type_name:
                    stack.append(fld.type_name)
        return seen_m, seen_e


def rpc_roots(idx, services):
    roots = []
    for s in services:
        svc = idx.services.get(s)
        if svc is None:
            continue
        for m in svc.method:
            roots.extend([m.input_type, m.output_type])
    return roots


def describe_field(msg, fld):
    oneof = None
    if fld.HasField("oneof_index"):
        oneof = msg.oneof_decl[fld.oneof_index].name
    packed = fld.options.packed if fld.options.HasField("packed") else None
    return {
        "name": fld.name,
        "type": TYPE_NAMES.get(fld.type, fld.type),
        "type_name": fld.type_name,
        "label": LABEL_NAMES.get(fld.label, fld.label),
        "proto3_optional": fld.proto3_optional,
        "oneof": oneof,
        "packed": packed,
    }


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    ours_set, ref_set = load(argv[1]), load(argv[2])
    services = argv[3:] or DEFAULT_SERVICES
    ours, ref = Index(ours_set), Index(ref_set)

    mismatches, missing, extra, notes = [], [], [], []
    rpc_count = 0

    for s in services:
        rs, os_ = ref.services.get(s), ours.services.get(s)
        if rs is None:
            mismatches.append(f"service {s}: not present in the reference")
            continue
        if os_ is None:
            missing.append(f"service {s}")
            continue
        rmeth = {m.name: m for m in rs.method}
        ometh = {m.name: m for m in os_.method}
        for name, rm in rmeth.items():
            om = ometh.get(name)
            if om is None:
                missing.append(f"rpc {s}/{name}")
                continue
            rpc_count += 1
            for attr in ("input_type", "output_type", "client_streaming", "server_streaming"):
                if getattr(rm, attr) != getattr(om, attr):
                    mismatches.append(
                        f"rpc {s}/{name}: {attr} ours={getattr(om, attr)!r} ref={getattr(rm, attr)!r}")
            if rm.options.deprecated != om.options.deprecated:
                notes.append(f"rpc {s}/{name}: deprecated ours={om.options.deprecated} ref={rm.options.deprecated}")
        for name in ometh:
            if name not in rmeth:
                extra.append(f"rpc {s}/{name}")

    ref_m, ref_e = ref.reachable(rpc_roots(ref, services))
    our_m, our_e = ours.reachable(rpc_roots(ours, services))

    for name in sorted(ref_m - set(ours.messages)):
        missing.append(f"message {name}")
    for name in sorted(ref_e - set(ours.enums)):
        missing.append(f"enum {name}")
    for name in sorted(our_m - set(ref.messages)):
        extra.append(f"message {name}")
    for name in sorted(our_e - set(ref.enums)):
        extra.append(f"enum {name}")
    for name in sorted((ref_m ^ our_m) & set(ours.messages) & set(ref.messages)):
        mismatches.append(f"message {name}: reachable in only one of the two sets")
    for name in sorted((ref_e ^ our_e) & set(ours.enums) & set(ref.enums)):
        mismatches.append(f"enum {name}: reachable in only one of the two sets")

    checked_m = sorted((ref_m | our_m) & set(ours.messages) & set(ref.messages))
    checked_e = sorted((ref_e | our_e) & set(ours.enums) & set(ref.enums))
    field_count = 0

    for name in checked_m:
        rmsg, omsg = ref.messages[name], ours.messages[name]
        rf = {f.number: f for f in rmsg.field}
        of = {f.number: f for f in omsg.field}
        for num in sorted(set(rf) | set(of)):
            if num not in of:
                missing.append(f"field {name}.{rf[num].name} = {num}")
                continue
            if num not in rf:
                extra.append(f"field {name}.{of[num].name} = {num}")
                continue
            field_count += 1
            rd, od = describe_field(rmsg, rf[num]), describe_field(omsg, of[num])
            for key in rd:
                if rd[key] != od[key]:
                    mismatches.append(
                        f"field {name} #{num} ({rd['name']}): {key} ours={od[key]!r} ref={rd[key]!r}")
            if rf[num].options.deprecated != of[num].options.deprecated:
                notes.append(
                    f"field {name}.{rd['name']}: deprecated option ours={of[num].options.deprecated} "
                    f"ref={rf[num].options.deprecated}")
        # oneof declaration names (including synthetic ones of proto3 optional)
        if [o.name for o in rmsg.oneof_decl] != [o.name for o in omsg.oneof_decl]:
            r_real = sorted({rmsg.oneof_decl[f.oneof_index].name for f in rmsg.field
                             if f.HasField("oneof_index") and not f.proto3_optional})
            o_real = sorted({omsg.oneof_decl[f.oneof_index].name for f in omsg.field
                             if f.HasField("oneof_index") and not f.proto3_optional})
            if r_real != o_real:
                mismatches.append(f"message {name}: oneofs ours={o_real} ref={r_real}")
        rres = sorted((r.start, r.end) for r in rmsg.reserved_range)
        ores = sorted((r.start, r.end) for r in omsg.reserved_range)
        if rres != ores or sorted(rmsg.reserved_name) != sorted(omsg.reserved_name):
            notes.append(f"message {name}: reserved ours={ores}{list(omsg.reserved_name)} "
                         f"ref={rres}{list(rmsg.reserved_name)}")
        if rmsg.options.map_entry != omsg.options.map_entry:
            mismatches.append(f"message {name}: map_entry ours={omsg.options.map_entry} ref={rmsg.options.map_entry}")

    value_count = 0
    for name in checked_e:
        rv = {v.name: v.number for v in ref.enums[name].value}
        ov = {v.name: v.number for v in ours.enums[name].value}
        value_count += len(rv)
        for vname in sorted(set(rv) | set(ov)):
            if vname not in ov:
                missing.append(f"enum value {name}.{vname} = {rv[vname]}")
            elif vname not in rv:
                extra.append(f"enum value {name}.{vname} = {ov[vname]}")
            elif rv[vname] != ov[vname]:
                mismatches.append(f"enum value {name}.{vname}: ours={ov[vname]} ref={rv[vname]}")

    for title, rows in (("MISMATCH", mismatches), ("MISSING", missing), ("EXTRA", extra), ("NOTE", notes)):
        for row in rows:
            print(f"{title}: {row}")

    print()
    print(f"services checked: {len(services)}  rpcs: {rpc_count}  messages: {len(checked_m)}  "
          f"fields: {field_count}  enums: {len(checked_e)}  enum values: {value_count}")
    print(f"mismatches: {len(mismatches)}  missing: {len(missing)}  extra: {len(extra)}  notes: {len(notes)}")
    return 0 if not mismatches and not missing else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
