//! The API's behavioural tests, compiled as one binary. Each test gets its own store and
//! router (`helpers::spawn`); the behavioural suite runs on both backends: the embedded store
//! and S3 + DynamoDB on the shared moto server (`scripts/test-services.sh`).

/// `on_both_backends!(a, b)` turns `async fn a(kind: Kind)` into the tests `a::local` and
/// `a::moto`, so one body states the behaviour both backends must have.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn local() {
                    super::$name(crate::helpers::Kind::Local).await
                }

                #[tokio::test]
                async fn moto() {
                    super::$name(crate::helpers::Kind::Moto).await
                }
            }
        )*
    };
}

mod aws;
mod cli;
mod console;
mod events;
mod helpers;
mod hostile;
mod malformed;
mod navigate;
mod process;
mod protocol;
mod run_filters;
mod runs;
mod scenarios;
mod telemetry;
mod users;
