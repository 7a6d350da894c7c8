//! The subscriber side of SMS: send an MO (GSM-7 or UCS-2 by content, long texts as UDH
//! concatenated parts) and receive the gateway's MTs to this MSISDN, reassembled.

use std::collections::HashMap;
use std::sync::Arc;

use rusmpp::pdus::DeliverSm;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, RegisteredDelivery};
use rusmpp::CommandStatus;
use tokio::sync::mpsc;

use crate::handle::SmscHandle;
use crate::observe::Submitted;
use crate::smsc::{lock, Shared, SimError, Target};
use crate::text::{self, DCS_UCS2};

/// One whole SMS the gateway sent to this phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub source: String,
    pub text: String,
    /// The submits it came in, in part order.
    pub parts: Vec<Submitted>,
}

const INBOX: usize = 64;
/// Most parts we hold while waiting for the rest of a concatenated MT.
const MAX_PARTS: usize = 255;

/// A phone that sends and receives SMS. Made by [`SmscHandle::sms`].
pub struct SmsPhone {
    shared: Arc<Shared>,
    msisdn: String,
    target: Target,
    rx: mpsc::Receiver<Submitted>,
    partial: HashMap<(String, u16), Vec<Submitted>>,
    next_ref: u8,
}

impl std::fmt::Debug for SmsPhone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsPhone")
            .field("msisdn", &crate::mask(&self.msisdn))
            .finish()
    }
}

impl SmscHandle {
    /// An SMS phone; from now on MTs to `msisdn` go to it rather than to `next_submit`.
    pub fn sms(&self, msisdn: &str) -> SmsPhone {
        let (tx, rx) = mpsc::channel(INBOX);
        lock(&self.shared.routes).sms.insert(msisdn.to_owned(), tx);
        SmsPhone {
            shared: self.shared.clone(),
            msisdn: msisdn.to_owned(),
            target: Target::All,
            rx,
            partial: HashMap::new(),
            next_ref: 0,
        }
    }
}

impl SmsPhone {
    pub fn on(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// Sends `text` to `short_code`; returns the deliver_sm_resp status of each part.
    pub async fn send(
        &mut self,
        short_code: &str,
        text: &str,
    ) -> Result<Vec<CommandStatus>, SimError> {
        let (dcs, bytes) = text::encode_auto(text);
        let (single, part) = if dcs == DCS_UCS2 {
            (140, 134)
        } else {
            (160, 153)
        };
        let bodies = if bytes.len() <= single {
            vec![bytes]
        } else {
            self.next_ref = self.next_ref.wrapping_add(1);
            let chunks = text::split_parts(dcs, &bytes, part);
            let total =
                u8::try_from(chunks.len()).map_err(|_| SimError::Text("over 255 parts".into()))?;
            (1..=total)
                .zip(chunks)
                .map(|(seq, chunk)| [vec![5, 0, 3, self.next_ref, total, seq], chunk].concat())
                .collect()
        };
        let udhi = bodies.len() > 1;
        let control = self.shared.receiver(&self.target).ok_or(SimError::NoBind)?;
        let mut statuses = Vec::with_capacity(bodies.len());
        for body in bodies {
            let pdu = self.mo(short_code, dcs, udhi, body)?;
            statuses.push(
                crate::session::deliver(&control, pdu, self.shared.config.observe_timeout).await?,
            );
        }
        Ok(statuses)
    }

    /// Sends one part of a concatenated SMS (UDH, 8-bit `reference`), part
    /// `seq` of `total`, and returns its deliver_sm_resp status: for tests of
    /// a message whose other parts come later, or never.
    pub async fn send_part(
        &mut self,
        short_code: &str,
        text: &str,
        (reference, total, seq): (u8, u8, u8),
    ) -> Result<CommandStatus, SimError> {
        let (dcs, bytes) = text::encode_auto(text);
        let body = [vec![5, 0, 3, reference, total, seq], bytes].concat();
        let control = self.shared.receiver(&self.target).ok_or(SimError::NoBind)?;
        let pdu = self.mo(short_code, dcs, true, body)?;
        crate::session::deliver(&control, pdu, self.shared.config.observe_timeout).await
    }

    fn mo(
        &self,
        short_code: &str,
        dcs: u8,
        udhi: bool,
        body: Vec<u8>,
    ) -> Result<DeliverSm, SimError> {
        let bad = |what: &str| SimError::Text(what.to_owned());
        Ok(DeliverSm::builder()
            .source_addr(COctetString::from_string(self.msisdn.clone()).map_err(|_| bad("msisdn"))?)
            .destination_addr(
                COctetString::from_string(short_code.to_owned()).map_err(|_| bad("short code"))?,
            )
            .esm_class(EsmClass::from(if udhi { 0x40 } else { 0x00 }))
            .registered_delivery(RegisteredDelivery::from(0))
            .data_coding(DataCoding::from(dcs))
            .short_message(OctetString::from_vec(body).map_err(|_| bad("part over 255 octets"))?)
            .build())
    }

    /// The next whole MT to this phone (parts reassembled by UDH or SAR reference).
    pub async fn next_message(&mut self) -> Result<SmsMessage, SimError> {
        let t = self.shared.config.observe_timeout;
        let deadline = tokio::time::Instant::now() + t;
        loop {
            let s = match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Err(_) => return Err(SimError::Timeout(t, "an SMS to this phone")),
                Ok(None) => return Err(SimError::BindClosed),
                Ok(Some(s)) if s.message_id.is_none() => continue, // refused; the gateway resends
                Ok(Some(s)) => s,
            };
            let Some(c) = s.udh.or(s.sar).filter(|c| c.total > 1) else {
                return Ok(SmsMessage {
                    source: s.source.clone(),
                    text: s.text.clone(),
                    parts: vec![s],
                });
            };
            let key = (s.source.clone(), c.reference);
            let parts = self.partial.entry(key.clone()).or_default();
            if parts.len() < MAX_PARTS
                && !parts
                    .iter()
                    .any(|p| p.udh.or(p.sar).map(|x| x.seq) == Some(c.seq))
            {
                parts.push(s);
            }
            if parts.len() == usize::from(c.total) {
                let mut parts = self.partial.remove(&key).unwrap_or_default();
                parts.sort_by_key(|p| p.udh.or(p.sar).map_or(0, |x| x.seq));
                let text = parts.iter().map(|p| p.text.as_str()).collect();
                return Ok(SmsMessage {
                    source: key.0,
                    text,
                    parts,
                });
            }
        }
    }
}

impl Drop for SmsPhone {
    fn drop(&mut self) {
        lock(&self.shared.routes).sms.remove(&self.msisdn);
    }
}
