//! What lambda-fpm's tests (`tests/`, unit tests) and `bench/` share, so each exists once:
//!
//! - [`runtime_api`]: the Lambda Runtime API emulator (the AWS side, which cannot exist here),
//!   with refusals that reproduce how `cargo lambda watch` and a restarting API fail;
//! - [`events`]: Function URL / HTTP API (payload 2.0) events and reading buffered answers;
//! - [`serve`]: the loopback HTTP/1 accept loop every local stand-in server runs;
//! - [`temp`]: fresh temporary directories named for the test.

pub mod events;
pub mod runtime_api;
pub mod serve;
pub mod temp;

pub use events::{V2, V2Event, decode_body, url_event, v2};
pub use runtime_api::{Answer, Refusal, RuntimeApi};
