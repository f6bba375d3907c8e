//! lambda-fpm benchmarks: HTTP load scenarios, direct FastCGI and nginx baselines, cold start,
//! soak, and an EFS latency simulator (FUSE). See bench/README.md.

pub mod efs;
pub mod fcgi;
pub mod front;
pub mod lambda;
pub mod load;
pub mod plot;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod suites;
