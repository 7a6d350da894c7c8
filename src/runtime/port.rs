//! The notification API's [`Port`] over the running gateway: MTs through
//! the outbox (the operator's first short code as sender, as for
//! follow-ups), statuses from the outbox, audit records into the store.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::Core;
use crate::msisdn::Msisdn;
use crate::notify::Port;
use crate::outbox::{self, OutboundSms, SmsStatus};
use crate::store::{self, MessageId, OutboundId, Priority, Store};

impl<S: Store> Port for Arc<Core<S>> {
    fn send(
        &self,
        key: MessageId,
        to: Msisdn,
        text: String,
        priority: Priority,
    ) -> BoxFuture<'_, Result<(OutboundId, bool), outbox::Error>> {
        Box::pin(async move {
            let from = self.short_code_for(None, &to);
            let sms = OutboundSms {
                to,
                from,
                text,
                operator: None,
                priority: priority as u8,
            };
            self.outbox.enqueue_once(&key, sms).await
        })
    }

    fn keyed(&self, key: MessageId) -> BoxFuture<'_, Result<Option<OutboundId>, outbox::Error>> {
        Box::pin(async move { self.outbox.keyed(&key).await })
    }

    fn status(&self, id: OutboundId) -> BoxFuture<'_, Result<Option<SmsStatus>, outbox::Error>> {
        Box::pin(async move { self.outbox.try_status(id).await })
    }

    fn audit(&self, record: Vec<u8>) -> BoxFuture<'_, Result<(), store::Error>> {
        Box::pin(async move { self.store.append_audit(record).await.map(drop) })
    }
}
