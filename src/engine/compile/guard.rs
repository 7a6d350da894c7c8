//! The MSISDN is an identifier, not proof of identity (a sender number can
//! be forged, a phone lent or stolen): a call whose answer is personal data
//! (`personal: true`) must be behind a secret the back-end checked. The
//! rule, on the compiled graph of one flow:
//!
//! * a call with `verifies: X` checks `X`, which must be a `secret: true`
//!   input of the flow and a parameter of that call;
//! * a `personal: true` call either verifies a secret itself, or no path
//!   from the flow's start reaches it except through the `ok` outcome of a
//!   call that verifies one.

use std::collections::VecDeque;

use super::super::doc::NodeDoc;
use super::super::model::{Flow, NodeKind};
use super::super::session::{Outcome, SecretCheck};
use super::proof::successors;
use super::{loc, Diags, Loc};

pub(super) fn personal_data(flow: &Flow, locs: &[Loc], d: &mut Diags) {
    for (i, node) in flow.nodes.iter().enumerate() {
        let NodeKind::Call {
            params,
            check: Some(c),
            ..
        } = &node.kind
        else {
            continue;
        };
        let is_secret_input = flow.nodes.iter().any(
            |n| matches!(&n.kind, NodeKind::Input { save, secret: true, .. } if *save == c.secret),
        );
        if !is_secret_input {
            let msg = format!(
                "`verifies: {}` must name a `secret: true` input of this flow",
                c.secret
            );
            d.at(locs[i], msg);
        }
        let passed = params
            .iter()
            .flat_map(|(_, t)| t.variables())
            .any(|(name, _)| name == c.secret);
        if !passed {
            let msg = format!(
                "call `{}` verifies `{}` but does not send it: add it to `params`",
                node.name, c.secret
            );
            d.at(locs[i], msg);
        }
    }
    // Nodes reachable from the start without a verified secret.
    let n = flow.nodes.len();
    let mut open = vec![false; n];
    let mut queue = VecDeque::from([flow.start as usize]);
    while let Some(i) = queue.pop_front() {
        if i >= n || open[i] {
            continue;
        }
        open[i] = true;
        let kind = &flow.nodes[i].kind;
        let verifying = matches!(kind, NodeKind::Call { check: Some(_), .. });
        for (k, next) in successors(kind).into_iter().enumerate() {
            // A verifying call's `ok` leads past the check.
            if !(verifying && k == Outcome::Ok.index()) {
                queue.push_back(next as usize);
            }
        }
    }
    for (i, node) in flow.nodes.iter().enumerate() {
        if let NodeKind::Call {
            personal: true,
            check: None,
            ..
        } = node.kind
        {
            if open[i] {
                let msg = format!(
                    "call `{}` returns personal data (`personal: true`) but can be reached \
                     without a secret checked by a back-end: put it after the `ok` of a call \
                     with `verifies:` (a PIN or OTP input), or verify one itself; the \
                     caller's number alone does not prove who is asking",
                    node.name
                );
                d.at(locs[i], msg);
            }
        }
    }
}

/// `verifies` and `wrong`: which secret the call checks, and which outcomes
/// mean it was wrong (default `not_found`). `Some(None)`: not a check.
pub(super) fn secret_check(nd: &NodeDoc, d: &mut Diags) -> Option<Option<SecretCheck>> {
    let Some(secret) = &nd.verifies else {
        if let Some(w) = &nd.wrong {
            d.at(
                loc(w),
                "`wrong` goes with `verifies` (the secret the call checks)",
            );
            return None;
        }
        return Some(None);
    };
    let mut wrong = [false; 4];
    match &nd.wrong {
        None => wrong[Outcome::NotFound.index()] = true,
        Some(list) => {
            for k in &list.value {
                match Outcome::ALL.into_iter().find(|o| o.key() == k.value) {
                    Some(Outcome::Ok) => d.at(loc(k), "`ok` cannot mean a wrong secret"),
                    Some(o) => wrong[o.index()] = true,
                    None => d.at(
                        loc(k),
                        format!(
                            "unknown outcome `{}` (expected not_found, failed, timeout)",
                            k.value
                        ),
                    ),
                }
            }
        }
    }
    Some(Some(SecretCheck {
        secret: secret.value.clone(),
        wrong,
    }))
}
