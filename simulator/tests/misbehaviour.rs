//! Every scripted misbehaviour knob, observed from the ESME side of a real TCP link.

mod common;

use std::time::Duration;

use bawaba_sim::rusmpp::{CommandId, CommandStatus, Pdu};
use bawaba_sim::{text, Answer, Behaviour, Target};
use common::*;

fn hi(dest: &str, rd: u8) -> bawaba_sim::rusmpp::pdus::SubmitSm {
    submit(dest, 0, text::encode_gsm7("hi").unwrap(), rd)
}

#[tokio::test]
async fn throttle_and_queue_full_every_nth() {
    let smsc = smsc(|c| {
        c.behaviour = Behaviour {
            throttle_every: Some(2),
            queue_full_every: Some(3),
            ..Behaviour::default()
        }
    })
    .await;
    let mut e = Esme::bound(&smsc).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        e.request(hi("9647700000010", 0)).await;
        statuses.push(e.recv().await.status());
    }
    use CommandStatus::{EsmeRmsgqful as Q, EsmeRok as Ok, EsmeRthrottled as T};
    assert_eq!(statuses, vec![Ok, T, Q, T, Ok, T]);
    let s = smsc.stats();
    assert_eq!((s.throttled, s.queue_full, s.submits), (3, 1, 6));
    let answers: Vec<_> = (0..6)
        .map(|_| smsc.try_next_submit().unwrap())
        .map(|s| (s.answer, s.message_id.is_some()))
        .collect();
    assert_eq!(answers[1], (Answer::Resp(T), false));
    assert_eq!(answers[0], (Answer::Resp(Ok), true));
}

#[tokio::test]
async fn response_delay_holds_the_resp() {
    let smsc = smsc(|_| {}).await;
    smsc.update_behaviour(|b| b.submit_resp_delay = Duration::from_millis(1500));
    let mut e = Esme::bound(&smsc).await;
    let start = tokio::time::Instant::now();
    e.request(hi("9647700000011", 0)).await;
    // The submit is observable at once, the resp only after the delay.
    smsc.next_submit().await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(1500));
    assert!(matches!(e.recv().await.pdu(), Some(Pdu::SubmitSmResp(_))));
    assert!(start.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test]
async fn never_respond_and_nack_instead() {
    let smsc = smsc(|c| c.behaviour.never_respond = true).await;
    let mut e = Esme::bound(&smsc).await;
    e.request(hi("9647700000012", 0)).await;
    let probe = e.request(Pdu::EnquireLink).await;
    // The stream is ordered: the enquire_link_resp arriving first proves no submit_sm_resp was sent.
    let next = e.recv().await;
    assert_eq!(
        (next.id(), next.sequence_number()),
        (CommandId::EnquireLinkResp, probe)
    );
    assert_eq!(smsc.next_submit().await.unwrap().answer, Answer::Nothing);
    assert_eq!(smsc.stats().unanswered, 1);

    smsc.set_behaviour(Behaviour {
        nack_instead_of_resp: Some(CommandStatus::EsmeRthrottled),
        ..Behaviour::default()
    });
    let seq = e.request(hi("9647700000012", 0)).await;
    let nack = e.recv().await;
    assert_eq!(
        (nack.id(), nack.status(), nack.sequence_number()),
        (CommandId::GenericNack, CommandStatus::EsmeRthrottled, seq)
    );
}

#[tokio::test]
async fn receipt_before_resp() {
    let smsc = smsc(|c| c.behaviour.receipt_before_resp = true).await;
    let mut e = Esme::bound(&smsc).await;
    e.request(hi("9647700000013", 1)).await;
    let first = e.recv().await;
    assert_eq!(u8::from(deliver_of(&first).esm_class), 0x04);
    assert_eq!(e.recv().await.id(), CommandId::SubmitSmResp);
}

#[tokio::test]
async fn duplicate_deliver_sends_each_deliver_sm_twice() {
    let smsc = smsc(|c| c.behaviour.duplicate_deliver = true).await;
    let mut e = Esme::bound(&smsc).await;
    let mut phone = smsc.sms("9647700000014");
    let sending = tokio::spawn(async move { phone.send("4455", "PDS 12345678").await });
    let (a, b) = (e.recv().await, e.recv().await);
    assert_eq!(deliver_of(&a), deliver_of(&b));
    assert_ne!(a.sequence_number(), b.sequence_number());
    e.ack_deliver(&a, CommandStatus::EsmeRok).await;
    e.ack_deliver(&b, CommandStatus::EsmeRok).await;
    assert_eq!(
        sending.await.unwrap().unwrap(),
        vec![CommandStatus::EsmeRok]
    );
    assert_eq!(
        smsc.wait_stats(|s| s.deliver_sm_resps_received == 2)
            .await
            .unwrap()
            .deliver_sms_sent,
        2
    );
}

#[tokio::test]
async fn refuse_binds_by_count_and_for_a_while() {
    let smsc = smsc(|c| c.behaviour.refuse_binds = 1).await;
    let mut e = Esme::connect(smsc.local_addr()).await;
    assert_eq!(
        e.bind(Kind::Trx, "bawaba", "secret", 0x34).await.status(),
        CommandStatus::EsmeRbindfail
    );
    assert_eq!(
        e.bind(Kind::Trx, "bawaba", "secret", 0x34).await.status(),
        CommandStatus::EsmeRok
    );
    smsc.refuse_binds_for(Duration::from_secs(60));
    let mut e2 = Esme::connect(smsc.local_addr()).await;
    assert_eq!(
        e2.bind(Kind::Trx, "bawaba", "secret", 0x34).await.status(),
        CommandStatus::EsmeRbindfail
    );
    smsc.refuse_binds_for(Duration::ZERO);
    assert_eq!(
        e2.bind(Kind::Trx, "bawaba", "secret", 0x34).await.status(),
        CommandStatus::EsmeRok
    );
}

#[tokio::test]
async fn drop_link_one_or_all() {
    let smsc = smsc(|_| {}).await;
    let mut a = Esme::bound(&smsc).await;
    let mut b = Esme::bound(&smsc).await;
    let binds = smsc.wait_bound(2).await.unwrap();
    assert_eq!(smsc.drop_link(Target::Bind(binds[0].id)).await, 1);
    a.expect_eof().await;
    smsc.wait_bound_at_most(1).await.unwrap();
    assert_eq!(smsc.binds()[0].id, binds[1].id);
    assert_eq!(smsc.drop_link(Target::All).await, 1);
    b.expect_eof().await;
    smsc.wait_bound_at_most(0).await.unwrap();
    assert_eq!(smsc.stats().links_dropped, 2);
}

#[tokio::test]
async fn unbind_from_the_smsc() {
    let smsc = smsc(|_| {}).await;
    let mut e = Esme::bound(&smsc).await;
    assert_eq!(smsc.send_unbind(Target::SystemId("bawaba".into())).await, 1);
    let unbind = e.recv().await;
    assert_eq!(unbind.id(), CommandId::Unbind);
    e.send(bawaba_sim::rusmpp::Command::new(
        CommandStatus::EsmeRok,
        unbind.sequence_number(),
        Pdu::UnbindResp,
    ))
    .await;
    e.expect_eof().await;
    smsc.wait_bound_at_most(0).await.unwrap();
    assert!(smsc.protocol_errors().is_empty());
}

#[tokio::test]
async fn garbage_and_oversized_bytes_reach_the_wire() {
    let smsc = smsc(|_| {}).await;
    let mut e = Esme::bound(&smsc).await;
    assert_eq!(smsc.send_garbage(Target::All).await, 1);
    let garbage = b"\x00\x00\x00\x01GARBAGE\xff\xfe\x00not smpp";
    assert_eq!(e.recv_raw(garbage.len()).await, garbage.to_vec());
    assert_eq!(smsc.send_oversized(Target::All, 0xFFFF_FFF0).await, 1);
    let header = e.recv_raw(16).await;
    assert_eq!(&header[..8], &[0xFF, 0xFF, 0xFF, 0xF0, 0, 0, 0, 5]);
    assert_eq!(smsc.send_raw(Target::All, &[1, 2, 3]).await, 1);
    assert_eq!(e.recv_raw(3).await, vec![1, 2, 3]);
    assert_eq!(smsc.stats().garbage_sent, 3);
}

#[tokio::test]
async fn generic_nack_from_the_esme_is_recorded() {
    let smsc = smsc(|_| {}).await;
    let mut e = Esme::bound(&smsc).await;
    let mut phone = smsc.sms("9647700000015");
    let sending = tokio::spawn(async move { phone.send("4455", "hello").await });
    let d = e.recv().await;
    e.send(bawaba_sim::rusmpp::Command::new(
        CommandStatus::EsmeRinvcmdlen,
        d.sequence_number(),
        Pdu::GenericNack,
    ))
    .await;
    assert_eq!(
        sending.await.unwrap().unwrap(),
        vec![CommandStatus::EsmeRinvcmdlen]
    );
    let nacks = smsc.nacks_received();
    assert_eq!(
        (nacks.len(), nacks[0].status, nacks[0].sequence),
        (1, CommandStatus::EsmeRinvcmdlen, d.sequence_number())
    );
}
