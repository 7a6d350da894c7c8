//! Shared set-up for the session tests: a simulator, an operator config
//! pointing at it (short timers), messages to submit.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bawaba::config::{BindMode, Config, Operator as OperatorConfig};
use bawaba::smpp::pdu::{Address, Sm};
use bawaba::smpp::session::{Inbound, Operator, Options};
use bawaba_sim::{Behaviour, Smsc, SmscConfig, SmscHandle};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub const SYSTEM_ID: &str = "bawaba";
pub const PASSWORD: &str = "s3cr3t!";
pub const WAIT: Duration = Duration::from_secs(10);

/// An operator config for `addr`: validated through the real config
/// parser, then timers shortened for tests.
pub fn operator_cfg(addr: SocketAddr, password: &str) -> OperatorConfig {
    let toml = format!(
        "[[operators]]\nname = \"sim\"\nhost = \"{}\"\nport = {}\nsystem_id = \"{SYSTEM_ID}\"\npassword = \"{password}\"\ntps = 10000\n",
        addr.ip(),
        addr.port()
    );
    let mut config = Config::from_str(&toml, "session-test.toml").expect("test config");
    let mut op = config.operators.remove(0);
    op.reconnect.min = Duration::from_millis(20);
    op.reconnect.max = Duration::from_millis(200);
    op.reconnect.rejected_max = Duration::from_secs(2);
    op.bind_timeout = Duration::from_secs(5);
    op.response_timeout = Duration::from_secs(5);
    op
}

pub async fn smsc(behaviour: Behaviour) -> SmscHandle {
    let mut config = SmscConfig::local(SYSTEM_ID, PASSWORD);
    config.behaviour = behaviour;
    Smsc::start(config).await.expect("simulator starts")
}

pub struct Running {
    pub operator: Operator,
    pub inbound: mpsc::Receiver<Inbound>,
    pub shutdown: CancellationToken,
}

pub fn start(cfg: OperatorConfig, inbound_capacity: usize, options: Options) -> Running {
    let (tx, rx) = mpsc::channel(inbound_capacity);
    let shutdown = CancellationToken::new();
    let operator = Operator::start_with(Arc::new(cfg), tx, shutdown.clone(), options);
    Running {
        operator,
        inbound: rx,
        shutdown,
    }
}

/// A simulator and one bound operator (transceiver, `binds` binds).
pub async fn bound(
    behaviour: Behaviour,
    edit: impl FnOnce(&mut OperatorConfig),
) -> (SmscHandle, Running) {
    let smsc = smsc(behaviour).await;
    let mut cfg = operator_cfg(smsc.local_addr(), PASSWORD);
    edit(&mut cfg);
    let n = match cfg.bind_mode {
        BindMode::Transceiver => cfg.binds,
        BindMode::TxRx => 2 * cfg.binds,
    };
    let run = start(cfg, 16, Options::default());
    assert!(
        run.operator.wait_all_bound(WAIT).await,
        "binds did not come up"
    );
    smsc.wait_bound(n as usize)
        .await
        .expect("the SMSC sees the binds");
    (smsc, run)
}

pub fn address(addr: &str) -> Address {
    Address {
        ton: 1,
        npi: 1,
        addr: addr.to_string(),
    }
}

/// A plain GSM-7 (unpacked) submit_sm.
pub fn sm(dest: &str, text: &str) -> Sm {
    Sm {
        source: Address::new(0, 0, "2150"),
        dest: address(dest),
        short_message: bytes::Bytes::copy_from_slice(text.as_bytes()),
        ..Sm::default()
    }
}
