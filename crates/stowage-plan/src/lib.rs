//! The planner: from the spec (desired), what exists (observed) and the state (prior) to a
//! `Plan` of ordered actions, each with the attributes that change and the reason; the steps
//! apply runs; and the renderers that show a plan to people.
//!
//! Architecture invariant: no IO, no clock, no randomness. The same inputs give the same plan,
//! byte for byte. Domain knowledge about what the spec means (the uploader policy, the Twilio S3
//! URL) lives in [`desired`]; the planner itself is generic over the resource schemas.

pub mod account;
pub mod alerts;
pub mod desired;
pub mod destroy;
pub mod drift_report;
pub mod fleet;
pub mod import;
pub mod leftovers;
pub mod model;
pub mod plan_file;
pub mod planner;
pub mod prior;
pub mod quota;
pub mod render;
pub mod rotation;
pub mod s3_url;
pub mod steps;
pub mod verify;

pub use desired::{desired_fleet_resources, desired_resources};
pub use leftovers::{Leftovers, plan_with_leftovers};
pub use model::{
    ActionKind, AttributeChange, DesiredResource, DesiredValue, Plan, PlanDiagnostic, PlanMode, PlannedValue, Reason,
    Reference, ResourceChange, ResourceDrift, Severity, Summary, Template, dependencies,
};
pub use planner::{Observations, PlanInputs, ReadTarget, changed_since, plan, plan_at, read_targets};
pub use prior::{Deposed, DeposedOrigin, Prior, PriorResource};
pub use steps::{Step, StepKind, steps};
