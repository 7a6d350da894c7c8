//! Delivery receipts: read the SMSC message id and the final state out of a
//! receipt deliver_sm (receipted_message_id / message_state TLVs first, the
//! Appendix B text via `smpp::receipt` for what they leave out) and record
//! them in the store, where they merge with the id the sender linked at
//! submit_sm_resp, whichever came first.
//!
//! Receipt keys are scoped by operator: two SMSCs may hand out the same id.
//! Ids are compared in `canonical_message_id` form: by default as text
//! (trimmed, lower case); an operator that renders ids in different bases
//! in submit_sm_resp and receipts (decimal in one, hex in the other, as
//! Kannel's `msg-id-type` handles) gets its [`IdBases`] in
//! `Settings::message_ids`, and both sides become the same number.

use crate::smpp::receipt::{self, canonical_message_id, IdBase, ReceiptStat};
use crate::store::{MessageId, Receipt, Store, Timestamp};

use super::status::Dlr;
use super::Error;

/// esm_class bits 2..5 ("message type") of a deliver_sm.
const ESM_TYPE_MASK: u8 = 0x3C;
/// Message type "SMSC delivery receipt".
const ESM_RECEIPT: u8 = 0x04;

/// The parts of a receipt deliver_sm this module reads.
#[derive(Debug, Clone, Copy)]
pub struct DlrFields<'a> {
    pub esm_class: u8,
    pub receipted_message_id: Option<&'a str>,
    pub message_state: Option<u8>,
    pub network_error_code: Option<[u8; 3]>,
    /// short_message, or message_payload when short_message is empty.
    pub text: &'a [u8],
}

/// A receipt read: which message, what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDlr {
    pub message_id: String,
    pub dlr: Dlr,
}

/// Whether a deliver_sm's esm_class marks it as a delivery receipt.
pub fn is_receipt(esm_class: u8) -> bool {
    esm_class & ESM_TYPE_MASK == ESM_RECEIPT
}

/// Reads a receipt. TLVs win over the text; the text fills the gaps.
pub fn parse(f: DlrFields<'_>) -> Result<ParsedDlr, Error> {
    if !is_receipt(f.esm_class) {
        return Err(Error::NotAReceipt);
    }
    let text = receipt::parse_bytes(f.text).ok();
    let tlv_id = f.receipted_message_id.filter(|s| !s.trim().is_empty());
    let message_id = match (tlv_id, &text) {
        (Some(id), _) => id.trim().to_string(),
        (None, Some(t)) => t.id.clone(),
        (None, None) => {
            return Err(Error::MalformedReceipt(
                "no receipted_message_id and no id: field",
            ))
        }
    };
    let tlv_stat = f
        .message_state
        .and_then(receipt::MessageState::from_u8)
        .map(ReceiptStat::from);
    let stat = tlv_stat
        .or_else(|| text.as_ref().and_then(|t| t.stat.clone()))
        .unwrap_or_else(|| ReceiptStat::Other("NONE".into()));
    let err = text.as_ref().and_then(|t| t.err.clone()).or_else(|| {
        f.network_error_code
            .map(|[t, a, b]| format!("{t:02X}{a:02X}{b:02X}"))
    });
    Ok(ParsedDlr {
        message_id,
        dlr: Dlr::new(&stat, err),
    })
}

/// How one operator renders message ids in submit_sm_resp and in receipts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdBases {
    pub submit: IdBase,
    pub receipt: IdBase,
}

/// The receipts-tree key of `operator`'s message id `id`, rendered in `base`.
pub fn receipt_key(operator: &str, id: &str, base: IdBase) -> MessageId {
    MessageId(format!("{operator}:{}", canonical_message_id(id, base)))
}

/// Records `parsed` (durable when it returns). An interim receipt
/// (ENROUTE, a vendor word) never overwrites a final one already stored.
pub async fn record<S: Store>(
    store: &S,
    (operator, base): (&str, IdBase),
    parsed: &ParsedDlr,
    expires_at: Timestamp,
) -> Result<Receipt, Error> {
    let key = receipt_key(operator, &parsed.message_id, base);
    if !parsed.dlr.stat().is_final() {
        if let Some(existing) = store.receipt_status(&key).await? {
            let stored_final = existing
                .status
                .as_deref()
                .and_then(Dlr::decode)
                .is_some_and(|d| d.stat().is_final());
            if stored_final {
                return Ok(existing);
            }
        }
    }
    Ok(store
        .record_receipt(&key, parsed.dlr.encode(), expires_at)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(text: &'a [u8], id: Option<&'a str>, state: Option<u8>) -> DlrFields<'a> {
        DlrFields {
            esm_class: 0x04,
            receipted_message_id: id,
            message_state: state,
            network_error_code: None,
            text,
        }
    }

    #[test]
    fn tlvs_win_and_text_fills_in() {
        let text = b"id:0000002A sub:001 dlvrd:000 submit date:2511261702 done date:2511261702 stat:UNDELIV err:012 text:hi";
        let p = parse(fields(text, Some("0000002a"), Some(2))).unwrap();
        assert_eq!(p.message_id, "0000002a");
        assert_eq!(p.dlr.stat, "DELIVRD");
        assert_eq!(p.dlr.err.as_deref(), Some("012"));
        let p = parse(fields(text, None, None)).unwrap();
        assert_eq!(
            (p.message_id.as_str(), p.dlr.stat.as_str()),
            ("0000002A", "UNDELIV")
        );
    }

    #[test]
    fn not_a_receipt_or_no_id_is_an_error() {
        let mut f = fields(b"hello", None, None);
        assert!(matches!(parse(f), Err(Error::MalformedReceipt(_))));
        f.esm_class = 0x00;
        assert!(matches!(parse(f), Err(Error::NotAReceipt)));
        let tlv_only = parse(fields(b"", Some("77"), Some(5))).unwrap();
        assert_eq!(tlv_only.dlr.stat, "UNDELIV");
    }

    #[test]
    fn keys_are_per_operator_and_case_blind() {
        let text = IdBase::Text;
        assert_eq!(
            receipt_key("zain", " 0A1B ", text),
            receipt_key("zain", "0a1b", text)
        );
        assert_ne!(
            receipt_key("zain", "1", text),
            receipt_key("asiacell", "1", text)
        );
        assert_eq!(
            receipt_key("zain", "12345", IdBase::Decimal),
            receipt_key("zain", "0x3039", IdBase::Hex)
        );
    }
}
