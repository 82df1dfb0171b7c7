//! The REST API over plain HTTP/1.1: a catalogue of malformed requests
//! (each gets Qdrant's status and message, the server keeps serving, the
//! data is unchanged), the body limit, API keys, CORS, metrics, and a
//! point written over one protocol read over the other.

mod faults;
mod http;
mod malformed;
mod protocols;
mod strict;
