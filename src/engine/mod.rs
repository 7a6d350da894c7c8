//! Declarative menu flows: the YAML format, the compiler that checks them,
//! and the pure interpreter. No I/O, no clock, no async in here.

mod compile;
pub mod diagnostic;
pub mod dial;
pub mod doc;
pub mod expr;
pub mod lang;
pub mod model;
pub mod normalize;
mod render;
mod results;
mod run;
pub mod screen;
pub mod session;
mod step;
pub mod template;
pub mod transcript;
pub mod validate;

pub use compile::compile;
pub use diagnostic::{CompileContext, Diagnostic, Source};
pub use lang::Lang;
pub use model::{Flow, FlowSet};
pub use session::{Bearer, Effect, Input, Outcome, Session, Status, StepContext};
pub use step::{step, step_with};
