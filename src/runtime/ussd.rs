//! The USSD bearer, pure part: a deliver_sm read through the operator's
//! profile (which op, which dialogue, what the citizen typed) and the
//! submit_sm that answers it (same dialogue fields, continue or end op,
//! text in the operator's encodings within its screen budget).
//!
//! Must not: do I/O. The async turn lives in `bearer`.

use bytes::Bytes;

use crate::config::{self, DialString, SessionKey as KeyBy, UssdProfile};
use crate::msisdn::Msisdn;
use crate::smpp::pdu::{Address, Sm, Tlvs};
use crate::smpp::text;

use super::conversation::DialogueId;

/// What the citizen did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Dialled a code (full dial string, e.g. `*123*1#`).
    Begin { dial: String },
    /// Answered a screen.
    Reply { text: String },
    /// The user or the network ended the dialogue.
    Abort,
}

/// One USSD MO as the runtime needs it.
#[derive(Debug, Clone)]
pub struct Mo {
    pub who: Msisdn,
    pub action: Action,
    pub dialogue: DialogueId,
    pub reply_to: ReplyTo,
}

/// The fields a reply must echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    /// Our side (the MO's destination).
    pub ours: Address,
    /// The phone (the MO's source).
    pub phone: Address,
    pub its_session_info: Option<u16>,
    pub user_message_reference: Option<u16>,
}

/// Why a deliver_sm is not a USSD MO we can serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("ussd_service_op {0} is not begin, user_reply or abort in this profile")]
    UnknownOp(u8),
    #[error("source address is not a subscriber number")]
    BadSource,
    #[error("the profile keys dialogues by {0} but the PDU has none")]
    NoDialogueId(&'static str),
}

/// Reads a deliver_sm carrying ussd_service_op `op`.
pub fn parse(sm: &Sm, op: u8, profile: &UssdProfile) -> Result<Mo, Reject> {
    let who = Msisdn::parse(&sm.source.addr).map_err(|_| Reject::BadSource)?;
    let dialogue = match profile.session_key {
        KeyBy::ItsSessionInfo => DialogueId::Its(
            (sm.tlvs
                .its_session_info
                .ok_or(Reject::NoDialogueId("its_session_info"))?
                >> 8) as u8,
        ),
        KeyBy::UserMessageReference => DialogueId::Umr(
            sm.tlvs
                .user_message_reference
                .ok_or(Reject::NoDialogueId("user_message_reference"))?,
        ),
        KeyBy::MsisdnServiceCode => DialogueId::Subscriber,
    };
    let body = match &sm.tlvs.message_payload {
        Some(p) if sm.short_message.is_empty() => p.clone(),
        _ => sm.short_message.clone(),
    };
    let typed = text::decode(sm.data_coding, &body);
    let ops = &profile.ops;
    let action = if op == ops.begin {
        let dial = match profile.dial_string {
            DialString::ShortMessage => typed,
            DialString::DestinationAddr => sm.dest.addr.clone(),
        };
        Action::Begin {
            dial: dial.trim().to_string(),
        }
    } else if op == ops.user_reply {
        Action::Reply { text: typed }
    } else if ops.abort.contains(&op) {
        Action::Abort
    } else {
        return Err(Reject::UnknownOp(op));
    };
    Ok(Mo {
        who,
        action,
        dialogue,
        reply_to: ReplyTo {
            ours: sm.dest.clone(),
            phone: sm.source.clone(),
            its_session_info: sm.tlvs.its_session_info,
            user_message_reference: sm.tlvs.user_message_reference,
        },
    })
}

/// The submit_sm carrying one screen. `end` closes the dialogue: the
/// our_end op and, with its_session_info, the end bit (0x01 of the low
/// octet) set; otherwise our_continue and the bit cleared.
pub fn reply(operator: &config::Operator, to: &ReplyTo, screen: &str, end: bool) -> Sm {
    let profile = &operator.ussd.profile;
    let screen = fit(screen, &profile.budget);
    let encoded = encode(operator, &screen);
    let mut tlvs = Tlvs {
        ussd_service_op: Some(if end {
            profile.ops.our_end
        } else {
            profile.ops.our_continue
        }),
        ..Tlvs::default()
    };
    tlvs.its_session_info = to.its_session_info.map(|its| (its & !1) | u16::from(end));
    tlvs.user_message_reference = to.user_message_reference;
    Sm {
        service_type: profile.service_type.clone(),
        source: to.ours.clone(),
        dest: to.phone.clone(),
        esm_class: 0,
        protocol_id: 0,
        priority_flag: 0,
        schedule_delivery_time: String::new(),
        validity_period: String::new(),
        registered_delivery: 0,
        replace_if_present: 0,
        data_coding: encoded.data_coding,
        sm_default_msg_id: 0,
        short_message: Bytes::from(encoded.bytes),
        tlvs,
    }
}

/// Encodes in the cheapest of the operator's encodings; UCS-2 always
/// holds any text, so that is the last resort even if not listed.
pub fn encode(operator: &config::Operator, s: &str) -> text::Encoded {
    let codings = text::DataCodings {
        gsm7: operator.data_coding.gsm7,
        ucs2: operator.data_coding.ucs2,
        ..text::DataCodings::default()
    };
    let allowed: Vec<text::Encoding> = operator
        .encodings
        .iter()
        .map(|e| match e {
            config::Encoding::Gsm7 => text::Encoding::Gsm7,
            config::Encoding::Ucs2 => text::Encoding::Ucs2,
        })
        .collect();
    text::encode(s, &allowed, &codings).unwrap_or_else(|_| text::Encoded {
        data_coding: codings.ucs2,
        bytes: text::ucs2::encode(s),
        encoding: text::Encoding::Ucs2,
    })
}

/// Cuts a screen to the budget. Flows are proven against the strictest
/// budget at load, so this only bites on the runtime's own texts or a
/// budget misconfiguration, and it is logged.
pub fn fit(s: &str, budget: &crate::charset::Budget) -> String {
    if budget.fits(s) {
        return s.to_string();
    }
    tracing::warn!(
        chars = s.chars().count(),
        "screen over the operator's budget; cut"
    );
    let mut out: String = s.to_string();
    while !budget.fits(&out) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests;
