//! The API's behavioural tests, compiled as one binary. Each test gets its own store and
//! router (`helpers::spawn`); the behavioural suite runs on both backends: the embedded store
//! and S3 + DynamoDB on the shared moto server (`scripts/test-services.sh`).

/// `on_both_backends!(a, b)` turns `async fn a(kind: Kind)` into the tests `a::local`,
/// `a::moto` and `a::moto_iam`, so one body states the behaviour both backends must have; the
/// last runs the AWS store as the Lambda's IAM principal (exactly its policy from
/// `infra/template.yaml`) on the IAM-enforced moto, so a missing action fails it.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $( backend_tests!($name: local => Local, moto => Moto, moto_iam => MotoIam); )*
    };
}

/// `on_both_backends_through_links!(a)`: like `on_both_backends!`, without the IAM-enforced
/// moto, for tests that send requests through S3 presigned links: moto's IAM check reads the
/// `Authorization` header, which a presigned request does not have, and answers 500. The
/// policy check for the actions those links use (`s3:PutObject`, `s3:GetObject`) is made by
/// the other tests and by `crates/tidy`.
macro_rules! on_both_backends_through_links {
    ($($name:ident),* $(,)?) => {
        $( backend_tests!($name: local => Local, moto => Moto); )*
    };
}

/// `backend_tests!(a: local => Local, …)`: the module `a` with one test per backend, each
/// calling `a(Kind::…)`.
macro_rules! backend_tests {
    ($name:ident: $($test:ident => $kind:ident),*) => {
        mod $name {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$name(crate::helpers::Kind::$kind).await
                }
            )*
        }
    };
}

mod api_gateway;
mod audit;
mod aws;
mod cli;
mod consistency;
mod console;
mod delete;
mod events;
mod helpers;
mod hostile;
mod lambda_function;
mod lambda_runtime;
mod malformed;
mod migrate;
mod navigate;
mod operations;
mod process;
mod protocol;
mod retention;
mod run_filters;
mod runs;
mod scenarios;
mod snapshot;
mod telemetry;
mod users;
