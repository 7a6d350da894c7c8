//! Declarative menu flows: the YAML format, the compiler that checks them,
//! and the pure interpreter. No I/O, no clock, no async in here.
//!
//! The format is documented in `flows/README.md`, transcripts in
//! `flows/TESTING.md`.
//!
//! # Entry points for the runtime
//!
//! - Load: [`compile`]`(&[Source], &CompileContext) -> Result<FlowSet, Vec<Diagnostic>>`
//!   (every problem at once, each `path:line:col: message`). The context
//!   names the back-ends and the smallest screen budget of any operator.
//! - Route a USSD dial: [`FlowSet::by_service_code`]`("*123*1*12345678#")`
//!   gives the flow whose service code is the longest prefix and the
//!   shortcut parts after it (`["12345678"]`); `None` means no service
//!   (the engine answers an `Input::Dial` for it with "Service
//!   unavailable" itself). Arabic-Indic / Persian digits are accepted.
//! - Route an SMS: [`FlowSet::by_keyword`]`("تموينية 12345678")` gives the
//!   flow and the rest of the text; keywords match case-, diacritic-,
//!   tatweel- and digit-insensitively, Arabic and Kurdish letter forms
//!   unified. For a text that matches nothing, [`FlowSet::sms_help`]`(lang)`
//!   is the translated listing of services and their keywords.
//! - Run: [`step`] / [`step_with`]`(&FlowSet, Session, Input, now_ms, &StepContext)
//!   -> (Session, Vec<Effect>)`. Start with `Session::new(bearer, remembered
//!   language)` and feed `Input::Dial { code }` (USSD, the full dial string)
//!   or `Input::Keyword { text }` (SMS); then `Reply`, `CallDone` (answer to
//!   `Effect::Call` with its `call_id`), `Timeout`, `Abort`. Store the
//!   session between steps (serde); secrets are `#[serde(skip)]`. A redial
//!   of an interrupted session within `StepContext::resume_window_ms`
//!   offers "Continue / Start over" (also when the citizen came in through
//!   another flow's menu, e.g. `*123#` then `goto` into `pds`).
//! - Secrets: [`FlowSet::secret_params`]`(&session)` names the parameters of
//!   the pending `Effect::Call` that carry a PIN: keep them in memory only.
//! - Built-in texts the engine shows (navigation, resume, invalid choice,
//!   "Service unavailable", "Session expired", the SMS help heading) are
//!   [`lang::Ui`]`::X.text(lang)`. The runtime's own notices (busy, try
//!   again, "we will send the result by SMS") live in `runtime::notice`.

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
mod route;
mod run;
pub mod screen;
pub mod session;
mod step;
pub mod template;
pub mod transcript;
pub mod validate;

pub use compile::compile;
pub(crate) use compile::LANG;
pub use diagnostic::{CompileContext, Diagnostic, Source};
pub use lang::Lang;
pub use model::{Flow, FlowSet, SameVersionChanged};
pub use session::{Bearer, Effect, Input, Outcome, SecretCheck, Session, Status, StepContext};
pub use step::{step, step_with};
