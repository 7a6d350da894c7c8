//! What the API answers: successes and refusals as JSON responses, and
//! outbox statuses as clients see them.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::request::Problem;
use crate::outbox::SmsStatus;

/// A successful answer.
pub(super) struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub location: Option<String>,
}

/// A refusal, and when to try again (seconds) if it is worth it.
pub(super) struct Refusal {
    pub problem: Problem,
    pub retry_after: Option<u64>,
}

impl From<Problem> for Refusal {
    fn from(problem: Problem) -> Refusal {
        Refusal {
            problem,
            retry_after: None,
        }
    }
}

pub(super) type Outcome = Result<Reply, Refusal>;

pub(super) fn status_body(id: &str, s: &SmsStatus) -> Value {
    match s {
        SmsStatus::Queued {
            attempts,
            last_error,
        } => {
            json!({ "id": id, "status": "queued", "attempts": attempts, "last_error": last_error })
        }
        SmsStatus::Sent { message_ids } => {
            json!({ "id": id, "status": "sent", "parts": message_ids.len() })
        }
        SmsStatus::Delivered { message_ids } => {
            json!({ "id": id, "status": "delivered", "parts": message_ids.len() })
        }
        SmsStatus::Failed { reason } => json!({ "id": id, "status": "failed", "reason": reason }),
    }
}

pub(super) fn reply(r: &Reply) -> Response {
    let mut resp = json_response(r.status, &r.body);
    if let Some(l) = r
        .location
        .as_deref()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp
}

pub(super) fn refusal(r: &Refusal) -> Response {
    let p = &r.problem;
    let body = json!({ "error": { "code": p.code, "field": p.field, "message": p.message } });
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json_response(status, &body);
    if let Some(s) = r.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    if p.status == 401 {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
