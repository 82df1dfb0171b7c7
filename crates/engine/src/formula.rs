//! Formula queries: rescore the union of the prefetches' results with an
//! arithmetic expression over their scores, payload values, conditions,
//! geo distances, datetimes and decay functions, evaluated as Qdrant
//! evaluates them (in `f64`, each non-finite step an error, the result cast
//! to `f32`).

use std::collections::HashMap;

use serde_json::{Map, Value};
use vicinity_payload::filter::GeoPoint;
use vicinity_payload::filter::datetime::parse_datetime;
use vicinity_payload::{Condition, Filter, JsonPath};

use crate::{Error, Result};

/// A formula: the expression and the values to use where a point has none
/// (keys: `$score`, `$score[i]`, or payload paths).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Formula {
    /// What to compute per point.
    pub expression: Expression,
    /// Defaults for variables a point does not have.
    pub defaults: HashMap<String, Value>,
}

/// Which decay curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecayKind {
    /// `max(0, 1 - (1 - midpoint) / scale · |x - target|)`.
    Lin,
    /// `exp(ln(midpoint) / scale · |x - target|)`.
    Exp,
    /// `exp(ln(midpoint) / scale² · (x - target)²)`.
    Gauss,
}

/// A node of a formula (Qdrant's `Expression`).
#[derive(Clone, Debug, PartialEq)]
pub enum Expression {
    /// A number (Qdrant reads constants as `f32`).
    Constant(f32),
    /// `$score`, `$score[i]` (the point's score in prefetch `i`), or a
    /// payload path.
    Variable(String),
    /// 1 when the point passes the condition, else 0.
    Condition(Box<Condition>),
    /// Metres from `origin` to the geo point at payload path `to`.
    GeoDistance {
        /// The fixed point.
        origin: GeoPoint,
        /// Where the point's location is.
        to: String,
    },
    /// A datetime literal, as POSIX seconds.
    Datetime(String),
    /// The datetime at a payload path, as POSIX seconds.
    DatetimeKey(String),
    /// The product (0 at the first zero factor, the rest not evaluated).
    Mult(Vec<Expression>),
    /// The sum.
    Sum(Vec<Expression>),
    /// The largest operand (at least one; NaN skipped).
    Max(Vec<Expression>),
    /// The smallest operand (at least one; NaN skipped).
    Min(Vec<Expression>),
    /// Minus.
    Neg(Box<Expression>),
    /// Absolute value.
    Abs(Box<Expression>),
    /// `left / right`: 0 when `left` is 0 (`right` not evaluated),
    /// `by_zero_default` when `right` is 0 and it is given.
    Div {
        /// The numerator.
        left: Box<Expression>,
        /// The denominator.
        right: Box<Expression>,
        /// The result of a division by zero.
        by_zero_default: Option<f32>,
    },
    /// Square root.
    Sqrt(Box<Expression>),
    /// `base ^ exponent`.
    Pow {
        /// The base.
        base: Box<Expression>,
        /// The exponent.
        exponent: Box<Expression>,
    },
    /// `e ^ x`.
    Exp(Box<Expression>),
    /// Base-10 logarithm.
    Log10(Box<Expression>),
    /// Natural logarithm.
    Ln(Box<Expression>),
    /// Inverse hyperbolic cosine.
    Acosh(Box<Expression>),
    /// A decay of `x` away from `target`: 1 at the target, `midpoint` at
    /// distance `scale`.
    Decay {
        /// The curve.
        kind: DecayKind,
        /// The input.
        x: Box<Expression>,
        /// Where the decay is 1 (default 0).
        target: Option<Box<Expression>>,
        /// The value at distance `scale` (default 0.5).
        midpoint: Option<f32>,
        /// The distance at which the value is `midpoint` (default 1).
        scale: Option<f32>,
    },
}

impl Default for Expression {
    fn default() -> Self {
        Expression::Constant(0.0)
    }
}

/// The operator keys of Qdrant's JSON expressions; any other object is a
/// filter condition.
const OPERATORS: &[&str] = &[
    "mult",
    "sum",
    "max",
    "min",
    "neg",
    "abs",
    "div",
    "sqrt",
    "pow",
    "exp",
    "log10",
    "ln",
    "acosh",
    "geo_distance",
    "datetime",
    "datetime_key",
    "lin_decay",
    "exp_decay",
    "gauss_decay",
];

impl Expression {
    /// Parses Qdrant's REST JSON shape of an expression: a number, a
    /// variable name, a filter condition, or a one-key object naming the
    /// operator. The error says what is malformed.
    pub fn from_json(v: Value) -> std::result::Result<Expression, String> {
        Self::parse(v, 0)
    }

    fn parse(v: Value, depth: usize) -> std::result::Result<Expression, String> {
        if depth > 64 {
            return Err("formula nests deeper than 64 levels".into());
        }
        let sub = |v: Value| Self::parse(v, depth + 1).map(Box::new);
        let list = |v: Value, op: &str| match v {
            Value::Array(items) => items
                .into_iter()
                .map(|i| Self::parse(i, depth + 1))
                .collect::<std::result::Result<Vec<_>, _>>(),
            _ => Err(format!("`{op}` takes a list of expressions")),
        };
        let m = match v {
            Value::Number(n) => {
                return n
                    .as_f64()
                    .map(|x| Expression::Constant(x as f32))
                    .ok_or_else(|| format!("{n} is not a number"));
            }
            Value::String(s) => return Ok(Expression::Variable(s)),
            Value::Object(m) => m,
            other => return Err(format!("{other} is not an expression")),
        };
        let op = match (m.len(), m.keys().next()) {
            (1, Some(k)) if OPERATORS.contains(&k.as_str()) => k.clone(),
            _ => {
                // a filter condition
                let f = Filter::from_json(serde_json::json!({ "must": [Value::Object(m)] }))
                    .map_err(|e| e.to_string())?;
                let c = f.must.into_iter().next().ok_or("an empty condition")?;
                return Ok(Expression::Condition(Box::new(c)));
            }
        };
        let (_, arg) = m.into_iter().next().expect("one key");
        Ok(match op.as_str() {
            "mult" => Expression::Mult(list(arg, &op)?),
            "sum" => Expression::Sum(list(arg, &op)?),
            "max" => Expression::Max(list(arg, &op)?),
            "min" => Expression::Min(list(arg, &op)?),
            "neg" => Expression::Neg(sub(arg)?),
            "abs" => Expression::Abs(sub(arg)?),
            "sqrt" => Expression::Sqrt(sub(arg)?),
            "exp" => Expression::Exp(sub(arg)?),
            "log10" => Expression::Log10(sub(arg)?),
            "ln" => Expression::Ln(sub(arg)?),
            "acosh" => Expression::Acosh(sub(arg)?),
            "div" => {
                let mut o = object(arg, &op)?;
                Expression::Div {
                    left: sub(required(&mut o, "left", &op)?)?,
                    right: sub(required(&mut o, "right", &op)?)?,
                    by_zero_default: optional_f32(&mut o, "by_zero_default")?,
                }
            }
            "pow" => {
                let mut o = object(arg, &op)?;
                Expression::Pow {
                    base: sub(required(&mut o, "base", &op)?)?,
                    exponent: sub(required(&mut o, "exponent", &op)?)?,
                }
            }
            "geo_distance" => {
                let mut o = object(arg, &op)?;
                let origin = required(&mut o, "origin", &op)?;
                let origin: GeoPoint = serde_json::from_value(origin)
                    .map_err(|e| format!("geo_distance.origin: {e}"))?;
                let to = match required(&mut o, "to", &op)? {
                    Value::String(s) => s,
                    _ => return Err("geo_distance.to must be a payload key".into()),
                };
                Expression::GeoDistance { origin, to }
            }
            "datetime" => match arg {
                Value::String(s) => Expression::Datetime(s),
                _ => return Err("`datetime` takes a string".into()),
            },
            "datetime_key" => match arg {
                Value::String(s) => Expression::DatetimeKey(s),
                _ => return Err("`datetime_key` takes a payload key".into()),
            },
            decay => {
                let kind = match decay {
                    "lin_decay" => DecayKind::Lin,
                    "exp_decay" => DecayKind::Exp,
                    _ => DecayKind::Gauss,
                };
                let mut o = object(arg, &op)?;
                Expression::Decay {
                    kind,
                    x: sub(required(&mut o, "x", &op)?)?,
                    target: match o.remove("target") {
                        None | Some(Value::Null) => None,
                        Some(t) => Some(sub(t)?),
                    },
                    midpoint: optional_f32(&mut o, "midpoint")?,
                    scale: optional_f32(&mut o, "scale")?,
                }
            }
        })
    }
}

fn object(v: Value, op: &str) -> std::result::Result<Map<String, Value>, String> {
    match v {
        Value::Object(o) => Ok(o),
        _ => Err(format!("`{op}` takes an object")),
    }
}

fn required(o: &mut Map<String, Value>, key: &str, op: &str) -> std::result::Result<Value, String> {
    o.remove(key).ok_or_else(|| format!("`{op}` needs `{key}`"))
}

fn optional_f32(o: &mut Map<String, Value>, key: &str) -> std::result::Result<Option<f32>, String> {
    match o.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|x| x as f32)),
        Some(other) => Err(format!("{key}: {other} is not a number")),
    }
}

/// A variable, as Qdrant parses its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Variable {
    Score(usize),
    Payload(JsonPath),
}

fn validation(msg: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!("Validation failed: {msg}"))
}

fn parse_variable(name: &str) -> Result<Variable> {
    let fail = |why: String| validation(format!("failed to parse variable ID {name}: {why}"));
    match name.strip_prefix('$') {
        Some(rest) => {
            let path: JsonPath = rest
                .parse()
                .map_err(|_| fail(format!("Invalid reserved variable: {name}")))?;
            if path.head() != "score" {
                return Err(fail(format!("Invalid reserved word: {name}")));
            }
            match path.segments() {
                [_] => Ok(Variable::Score(0)),
                [_, vicinity_payload::PathSegment::Index(i)] => Ok(Variable::Score(*i)),
                _ => Err(fail(format!("Invalid reserved variable: {name}"))),
            }
        }
        None => name
            .parse()
            .map(Variable::Payload)
            .map_err(|_| fail(format!("Invalid payload variable: {name}"))),
    }
}

/// A formula checked and ready to evaluate: variables parsed, datetimes
/// read, decay parameters turned into their rate, conditions collected.
pub(crate) struct Compiled {
    root: Node,
    /// The conditions, each as a one-condition filter.
    pub(crate) conditions: Vec<Filter>,
    defaults: HashMap<Variable, Value>,
}

enum Node {
    Const(f64),
    Var(Variable),
    Cond(usize),
    Geo {
        origin: GeoPoint,
        key: JsonPath,
    },
    Seconds(f64),
    SecondsAt(JsonPath),
    Mult(Vec<Node>),
    Sum(Vec<Node>),
    Max(Vec<Node>),
    Min(Vec<Node>),
    Neg(Box<Node>),
    Abs(Box<Node>),
    Div(Box<Node>, Box<Node>, Option<f64>),
    Sqrt(Box<Node>),
    Pow(Box<Node>, Box<Node>),
    Exp(Box<Node>),
    Log10(Box<Node>),
    Ln(Box<Node>),
    Acosh(Box<Node>),
    Decay {
        kind: DecayKind,
        x: Box<Node>,
        target: Option<Box<Node>>,
        lambda: f64,
    },
}

impl Formula {
    /// Checks the formula as Qdrant does before scoring any point.
    pub(crate) fn compile(&self) -> Result<Compiled> {
        let mut conditions = Vec::new();
        let root = compile(&self.expression, &mut conditions)?;
        let defaults = self
            .defaults
            .iter()
            .map(|(k, v)| Ok((parse_variable(k)?, v.clone())))
            .collect::<Result<_>>()?;
        Ok(Compiled {
            root,
            conditions,
            defaults,
        })
    }
}

fn path(key: &str) -> Result<JsonPath> {
    key.parse()
        .map_err(|e| validation(format!("failed to parse payload key {key}: {e}")))
}

fn compile(e: &Expression, conditions: &mut Vec<Filter>) -> Result<Node> {
    let mut all = |xs: &[Expression], op: &str, need_one: bool| -> Result<Vec<Node>> {
        if need_one && xs.is_empty() {
            return Err(validation(format!("`{op}` needs at least one operand")));
        }
        xs.iter().map(|x| compile(x, conditions)).collect()
    };
    Ok(match e {
        Expression::Constant(c) => Node::Const(f64::from(*c)),
        Expression::Variable(v) => Node::Var(parse_variable(v)?),
        Expression::Condition(c) => {
            conditions.push(Filter {
                must: vec![(**c).clone()],
                ..Filter::default()
            });
            Node::Cond(conditions.len() - 1)
        }
        Expression::GeoDistance { origin, to } => Node::Geo {
            origin: *origin,
            key: path(to)?,
        },
        Expression::Datetime(s) => {
            let micros = parse_datetime(s).ok_or_else(|| {
                validation(format!(
                    "failed to parse date-time {s}: not a supported datetime format"
                ))
            })?;
            Node::Seconds(micros as f64 / 1_000_000.0)
        }
        Expression::DatetimeKey(k) => Node::SecondsAt(path(k)?),
        Expression::Mult(xs) => Node::Mult(all(xs, "mult", false)?),
        Expression::Sum(xs) => Node::Sum(all(xs, "sum", false)?),
        Expression::Max(xs) => Node::Max(all(xs, "max", true)?),
        Expression::Min(xs) => Node::Min(all(xs, "min", true)?),
        Expression::Neg(x) => Node::Neg(Box::new(compile(x, conditions)?)),
        Expression::Abs(x) => Node::Abs(Box::new(compile(x, conditions)?)),
        Expression::Sqrt(x) => Node::Sqrt(Box::new(compile(x, conditions)?)),
        Expression::Exp(x) => Node::Exp(Box::new(compile(x, conditions)?)),
        Expression::Log10(x) => Node::Log10(Box::new(compile(x, conditions)?)),
        Expression::Ln(x) => Node::Ln(Box::new(compile(x, conditions)?)),
        Expression::Acosh(x) => Node::Acosh(Box::new(compile(x, conditions)?)),
        Expression::Div {
            left,
            right,
            by_zero_default,
        } => Node::Div(
            Box::new(compile(left, conditions)?),
            Box::new(compile(right, conditions)?),
            by_zero_default.map(f64::from),
        ),
        Expression::Pow { base, exponent } => Node::Pow(
            Box::new(compile(base, conditions)?),
            Box::new(compile(exponent, conditions)?),
        ),
        Expression::Decay {
            kind,
            x,
            target,
            midpoint,
            scale,
        } => {
            let lambda = decay_lambda(*kind, *midpoint, *scale)?;
            Node::Decay {
                kind: *kind,
                x: Box::new(compile(x, conditions)?),
                target: match target {
                    Some(t) => Some(Box::new(compile(t, conditions)?)),
                    None => None,
                },
                lambda,
            }
        }
    })
}

/// A decay's rate from its midpoint and scale, with Qdrant's checks.
fn decay_lambda(kind: DecayKind, midpoint: Option<f32>, scale: Option<f32>) -> Result<f64> {
    let midpoint = f64::from(midpoint.unwrap_or(0.5));
    let scale = f64::from(scale.unwrap_or(1.0));
    match kind {
        DecayKind::Lin if !(0.0..=1.0).contains(&midpoint) => {
            return Err(validation(format!(
                "Linear decay midpoint should be in the range [0.0, 1.0], got {midpoint}."
            )));
        }
        DecayKind::Exp | DecayKind::Gauss if midpoint <= 0.0 || midpoint >= 1.0 => {
            return Err(validation(format!(
                "Decay midpoint should be in the range (0.0, 1.0), got {midpoint}."
            )));
        }
        _ => {}
    }
    if scale <= 0.0 {
        return Err(validation(format!(
            "Decay scale should be non-zero positive, got {scale}."
        )));
    }
    Ok(match kind {
        DecayKind::Lin => (1.0 - midpoint) / scale,
        DecayKind::Exp => midpoint.ln() / scale,
        DecayKind::Gauss => midpoint.ln() / (scale * scale),
    })
}

/// What a formula reads of one point.
pub(crate) struct PointContext<'a> {
    /// The point's payload.
    pub(crate) payload: &'a Map<String, Value>,
    /// Its score in each prefetch, if it is in it.
    pub(crate) scores: &'a [Option<f32>],
    /// Whether it passes each condition.
    pub(crate) condition: &'a dyn Fn(usize) -> bool,
}

fn non_finite(expression: String) -> Error {
    Error::BadRequest(format!(
        "The expression {expression} produced a non-finite number"
    ))
}

fn type_error(key: &JsonPath, expected: &str, why: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!(
        "Expected {expected} value for {key} in the payload and/or in the formula defaults. Error: {why}"
    ))
}

impl Compiled {
    /// The point's score: the expression in `f64`, cast to `f32`.
    pub(crate) fn score(&self, p: &PointContext<'_>) -> Result<f32> {
        let x = self.eval(&self.root, p)?;
        let y = x as f32;
        if !y.is_finite() {
            return Err(non_finite(format!("{x} as f32 = {y}")));
        }
        Ok(y)
    }

    /// The value at a payload path (one value as it is, several as an
    /// array), else the default; an error if neither.
    fn value(&self, key: &JsonPath, p: &PointContext<'_>, expected: &str) -> Result<Value> {
        let mut values = key.values(p.payload);
        match values.len() {
            0 => self
                .defaults
                .get(&Variable::Payload(key.clone()))
                .cloned()
                .ok_or_else(|| {
                    type_error(key, expected, "No value found in a payload nor defaults")
                }),
            1 => Ok(values.pop().expect("one").clone()),
            _ => Ok(Value::Array(values.into_iter().cloned().collect())),
        }
    }

    fn eval(&self, n: &Node, p: &PointContext<'_>) -> Result<f64> {
        let checked = |x: f64, what: &dyn Fn() -> String| {
            if x.is_finite() {
                Ok(x)
            } else {
                Err(non_finite(what()))
            }
        };
        Ok(match n {
            Node::Const(c) => *c,
            Node::Var(Variable::Score(i)) => match p.scores.get(*i).copied().flatten() {
                Some(s) => f64::from(s),
                None => self
                    .defaults
                    .get(&Variable::Score(*i))
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0),
            },
            Node::Var(Variable::Payload(key)) => {
                let v = self.value(key, p, "number")?;
                v.as_f64()
                    .ok_or_else(|| type_error(key, "number", "Value is not a number"))?
            }
            Node::Cond(i) => {
                if (p.condition)(*i) {
                    1.0
                } else {
                    0.0
                }
            }
            Node::Geo { origin, key } => {
                let v = self.value(key, p, "geo point")?;
                let to: GeoPoint =
                    serde_json::from_value(v).map_err(|e| type_error(key, "geo point", e))?;
                origin.distance_m(&to)
            }
            Node::Seconds(s) => *s,
            Node::SecondsAt(key) => {
                let v = self.value(key, p, "datetime")?;
                let s = v
                    .as_str()
                    .ok_or_else(|| type_error(key, "datetime", "Value is not a string"))?;
                let micros = parse_datetime(s).ok_or_else(|| {
                    type_error(key, "datetime", "not a supported datetime format")
                })?;
                micros as f64 / 1_000_000.0
            }
            Node::Mult(xs) => {
                let mut product = 1.0;
                for x in xs {
                    let v = self.eval(x, p)?;
                    if v == 0.0 {
                        return Ok(0.0);
                    }
                    product *= v;
                }
                product
            }
            Node::Sum(xs) => {
                let mut sum = 0.0;
                for x in xs {
                    sum += self.eval(x, p)?;
                }
                sum
            }
            Node::Max(xs) => {
                let mut m = f64::NEG_INFINITY;
                for x in xs {
                    m = m.max(self.eval(x, p)?);
                }
                m
            }
            Node::Min(xs) => {
                let mut m = f64::INFINITY;
                for x in xs {
                    m = m.min(self.eval(x, p)?);
                }
                m
            }
            Node::Neg(x) => -self.eval(x, p)?,
            Node::Abs(x) => self.eval(x, p)?.abs(),
            Node::Div(l, r, by_zero) => {
                let l = self.eval(l, p)?;
                if l == 0.0 {
                    return Ok(0.0);
                }
                let r = self.eval(r, p)?;
                if r == 0.0
                    && let Some(d) = by_zero
                {
                    return Ok(*d);
                }
                let q = l / r;
                checked(q, &|| format!("{l}/{r} = {q}"))?
            }
            Node::Sqrt(x) => {
                let v = self.eval(x, p)?;
                let r = v.sqrt();
                checked(r, &|| format!("√{v} = {r}"))?
            }
            Node::Pow(b, e) => {
                let b = self.eval(b, p)?;
                let e = self.eval(e, p)?;
                let r = b.powf(e);
                checked(r, &|| format!("{b}^{e} = {r}"))?
            }
            Node::Exp(x) => {
                let v = self.eval(x, p)?;
                let r = v.exp();
                checked(r, &|| format!("exp({v}) = {r}"))?
            }
            Node::Log10(x) => {
                let v = self.eval(x, p)?;
                let r = v.log10();
                checked(r, &|| format!("log10({v}) = {r}"))?
            }
            Node::Ln(x) => {
                let v = self.eval(x, p)?;
                let r = v.ln();
                checked(r, &|| format!("ln({v}) = {r}"))?
            }
            Node::Acosh(x) => {
                let v = self.eval(x, p)?;
                let r = v.acosh();
                checked(r, &|| format!("acosh({v}) = {r}"))?
            }
            Node::Decay {
                kind,
                x,
                target,
                lambda,
            } => {
                let x = self.eval(x, p)?;
                let t = match target {
                    Some(t) => self.eval(t, p)?,
                    None => 0.0,
                };
                match kind {
                    DecayKind::Lin => (-lambda * (x - t).abs() + 1.0).max(0.0),
                    DecayKind::Exp => (lambda * (x - t).abs()).exp(),
                    DecayKind::Gauss => (lambda * (x - t) * (x - t)).exp(),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(formula: Value, payload: Value, scores: &[Option<f32>]) -> Result<f32> {
        let f = Formula {
            expression: Expression::from_json(formula).unwrap(),
            defaults: HashMap::new(),
        };
        let c = f.compile()?;
        let payload = payload.as_object().unwrap().clone();
        c.score(&PointContext {
            payload: &payload,
            scores,
            condition: &|_| true,
        })
    }

    #[test]
    fn arithmetic_as_qdrant() {
        let s = [Some(0.5f32), None];
        let got = eval(
            json!({"sum": ["$score", {"mult": [2, "price"]}, {"neg": "$score[1]"}]}),
            json!({"price": 3}),
            &s,
        )
        .unwrap();
        assert_eq!(got, 6.5);
        // single-element arrays are their element
        assert_eq!(eval(json!("p"), json!({"p": [4]}), &s).unwrap(), 4.0);
        // mult stops at a zero factor: the missing variable is not read
        assert_eq!(
            eval(json!({"mult": [0, "missing"]}), json!({}), &s).unwrap(),
            0.0
        );
        assert_eq!(
            eval(
                json!({"div": {"left": 0, "right": "missing"}}),
                json!({}),
                &s
            )
            .unwrap(),
            0.0
        );
        assert_eq!(
            eval(
                json!({"div": {"left": 1, "right": 0, "by_zero_default": 7}}),
                json!({}),
                &s
            )
            .unwrap(),
            7.0
        );
        assert_eq!(eval(json!({"max": [1, 5, 3]}), json!({}), &s).unwrap(), 5.0);
        assert_eq!(
            eval(json!({"min": [1, 5, -3]}), json!({}), &s).unwrap(),
            -3.0
        );
        let lin = eval(json!({"lin_decay": {"x": 2, "scale": 4}}), json!({}), &s).unwrap();
        assert!((lin - 0.75).abs() < 1e-6);
        let gauss = eval(
            json!({"gauss_decay": {"x": 3, "target": 1, "scale": 2, "midpoint": 0.25}}),
            json!({}),
            &s,
        )
        .unwrap();
        assert!((gauss - 0.25).abs() < 1e-6, "{gauss}");
        let t = eval(json!({"datetime": "1970-01-02T00:00:00Z"}), json!({}), &s).unwrap();
        assert_eq!(t, 86_400.0);
    }

    #[test]
    fn errors_as_qdrant() {
        let s = [Some(1.0f32)];
        let e = eval(json!("price"), json!({}), &s).unwrap_err().to_string();
        assert!(
            e.contains(
                "Expected number value for price in the payload and/or in the formula defaults. Error: No value found in a payload nor defaults"
            ),
            "{e}"
        );
        let e = eval(json!("price"), json!({"price": "x"}), &s)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Value is not a number"), "{e}");
        let e = eval(json!({"sqrt": -1}), json!({}), &s)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("The expression √-1 = NaN produced a non-finite number"),
            "{e}"
        );
        let e = eval(json!({"div": {"left": 1, "right": 0}}), json!({}), &s)
            .unwrap_err()
            .to_string();
        assert!(e.contains("1/0 = inf"), "{e}");
        let e = eval(json!({"exp": 1000}), json!({}), &s)
            .unwrap_err()
            .to_string();
        assert!(e.contains("non-finite"), "{e}");
        let e = eval(
            json!({"lin_decay": {"x": 1, "midpoint": 1.5}}),
            json!({}),
            &s,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("Linear decay midpoint should be in the range [0.0, 1.0], got 1.5."),
            "{e}"
        );
        let e = eval(json!({"exp_decay": {"x": 1, "scale": 0}}), json!({}), &s)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Decay scale should be non-zero positive, got 0."),
            "{e}"
        );
        let e = eval(json!("$foo"), json!({}), &s).unwrap_err().to_string();
        assert!(
            e.contains("failed to parse variable ID $foo: Invalid reserved word: $foo"),
            "{e}"
        );
        let e = eval(json!({"max": []}), json!({}), &s)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`max` needs at least one operand"), "{e}");
    }

    #[test]
    fn defaults_fill_missing_values() {
        let f = Formula {
            expression: Expression::from_json(json!({"sum": ["$score[1]", "price"]})).unwrap(),
            defaults: [
                ("$score[1]".to_string(), json!(2.5)),
                ("price".to_string(), json!(1)),
            ]
            .into_iter()
            .collect(),
        };
        let c = f.compile().unwrap();
        let payload = Map::new();
        let got = c
            .score(&PointContext {
                payload: &payload,
                scores: &[Some(9.0)],
                condition: &|_| false,
            })
            .unwrap();
        assert_eq!(got, 3.5);
    }

    #[test]
    fn conditions_and_geo() {
        let e = Expression::from_json(json!({"key": "brand", "match": {"value": "acme"}})).unwrap();
        assert!(matches!(e, Expression::Condition(_)));
        let f = Formula {
            expression: Expression::from_json(json!({"mult": [
                {"key": "brand", "match": {"value": "acme"}},
                {"geo_distance": {"origin": {"lat": 0.0, "lon": 0.0}, "to": "at"}}
            ]}))
            .unwrap(),
            defaults: HashMap::new(),
        };
        let c = f.compile().unwrap();
        assert_eq!(c.conditions.len(), 1);
        let payload = json!({"at": {"lat": 0.0, "lon": 1.0}})
            .as_object()
            .unwrap()
            .clone();
        let got = c
            .score(&PointContext {
                payload: &payload,
                scores: &[],
                condition: &|_| true,
            })
            .unwrap();
        // one degree of longitude on the equator, on the mean Earth radius
        let want = 6_371_008.8 * 1f64.to_radians();
        assert!((f64::from(got) - want).abs() < 1.0, "{got} {want}");
    }
}
