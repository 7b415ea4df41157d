//! The API's behavioural tests on the embedded store, compiled as one binary.
//! Each test gets its own data directory and router (`spawn_app`).

mod events;
mod helpers;
mod malformed;
mod navigate;
mod protocol;
mod telemetry;
mod users;
