//! Declarative menu flows: the YAML format, the compiler that checks them,
//! and the pure interpreter. No I/O, no clock, no async in here.

pub mod diagnostic;
pub mod doc;
pub mod dial;
pub mod expr;
pub mod lang;
pub mod model;
pub mod normalize;
pub mod session;
pub mod template;
pub mod transcript;

pub use diagnostic::{CompileContext, Diagnostic, Source};
pub use lang::Lang;
pub use model::{Flow, FlowSet};
pub use session::{Bearer, Effect, Input, Outcome, Session, StepContext};

/// Parses and checks flow files. Reports every problem at once.
///
/// Skeleton: the compiler lands in the following commits.
pub fn compile(sources: &[Source], ctx: &CompileContext) -> Result<FlowSet, Vec<Diagnostic>> {
    let _ = ctx;
    Err(sources
        .iter()
        .map(|s| Diagnostic {
            path: s.path.clone(),
            line: 0,
            column: 0,
            message: "flow compiler not built yet".into(),
        })
        .collect())
}

/// Advances a session by one input (with default `StepContext`).
pub fn step(
    flows: &FlowSet,
    session: Session,
    input: Input,
    now_ms: u64,
) -> (Session, Vec<Effect>) {
    step_with(flows, session, input, now_ms, &StepContext::default())
}

/// Advances a session by one input. Pure: the clock is `now_ms`.
///
/// Skeleton: the interpreter lands in the following commits.
pub fn step_with(
    flows: &FlowSet,
    mut session: Session,
    input: Input,
    now_ms: u64,
    ctx: &StepContext,
) -> (Session, Vec<Effect>) {
    let _ = (flows, input, ctx);
    session.last_activity_ms = now_ms;
    session.status = session::Status::Finished;
    let lang = session.language.unwrap_or(Lang::Ar);
    (
        session,
        vec![
            Effect::Show {
                text: lang::Ui::Unavailable.text(lang).to_string(),
                end: true,
            },
            Effect::End,
        ],
    )
}
