// tests/interop/smsc.js: node-smpp 0.5.1 (npm `smpp`, written by nobody on this team) as an
// SMSC for Bawaba's interop test (tests/interop_node.rs). Scripted through stdin, reports through
// stdout, both JSON lines, so the Rust test drives it without sleeps.
//
// Usage: node smsc.js [--port 0] [--system-id bawaba] [--password secret]
// stdout: {"event":"listening","port":N} first, then one line per PDU received from the ESME
//   ({"event":"<command>", "seq":..., fields...}); short_message and message_payload are reported
//   raw as hex (byte-exact, before node-smpp decodes them) and as node-smpp's own decoded text.
//   Buffers (its_session_info, udh) are hex. The bind password is never printed, only whether
//   it matched.
// stdin: {"cmd":"deliver_sm","pdu":{...}}  send a deliver_sm; `*_hex` fields become Buffers;
//          then prints {"event":"deliver_sm_resp",...} when the ESME answers
//        {"cmd":"enquire_link"}            send an enquire_link (prints enquire_link_resp)
//        {"cmd":"unbind"}                  send an unbind (prints unbind_resp)
//        {"cmd":"exit"}                    close everything and exit
'use strict';
const smpp = require('smpp');
const readline = require('readline');

const arg = (name, dflt) => {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
};
const PORT = +arg('port', '0');
const SYSTEM_ID = arg('system-id', 'bawaba');
const PASSWORD = arg('password', 'secret');
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// Keep the undecoded octets of every PDU field node-smpp decodes, so the test can check bytes.
const decode = smpp.PDU.prototype._filter;
smpp.PDU.prototype._filter = function (func) {
  if (func === 'decode') {
    const raw = {};
    for (const k of ['short_message', 'message_payload']) {
      if (Buffer.isBuffer(this[k])) raw[k] = Buffer.from(this[k]);
    }
    Object.defineProperty(this, 'raw', { value: raw, enumerable: false });
  }
  return decode.call(this, func);
};

const hex = (b) => (Buffer.isBuffer(b) ? b.toString('hex') : undefined);
const text = (v) => (v && typeof v === 'object' && 'message' in v ? v.message : v);
const udh = (v) => (v && v.udh ? v.udh.map((u) => Buffer.from(u).toString('hex')) : undefined);

function report(pdu) {
  const o = { event: pdu.command, seq: pdu.sequence_number, status: pdu.command_status };
  for (const k of ['system_id', 'system_type', 'interface_version', 'service_type', 'source_addr',
    'source_addr_ton', 'source_addr_npi', 'destination_addr', 'dest_addr_ton', 'dest_addr_npi',
    'esm_class', 'data_coding', 'registered_delivery', 'ussd_service_op', 'sar_msg_ref_num',
    'sar_total_segments', 'sar_segment_seqnum', 'message_id']) {
    if (pdu[k] !== undefined) o[k] = pdu[k];
  }
  if ('password' in pdu) o.password_ok = pdu.password === PASSWORD;
  if (pdu.its_session_info !== undefined) o.its_session_info = hex(pdu.its_session_info);
  const raw = pdu.raw || {};
  if (raw.short_message) {
    o.short_message_hex = hex(raw.short_message);
    o.text = text(pdu.short_message);
    o.udh = udh(pdu.short_message);
  }
  if (raw.message_payload) {
    o.message_payload_hex = hex(raw.message_payload);
    o.payload_text = text(pdu.message_payload);
  }
  out(o);
}

let current = null;
let msgId = 0;

const server = smpp.createServer((session) => {
  current = session;
  session.on('error', (e) => out({ event: 'error', message: e.message }));
  session.on('close', () => out({ event: 'closed' }));
  session.on('pdu', (pdu) => {
    report(pdu);
    switch (pdu.command) {
      case 'bind_transceiver':
      case 'bind_transmitter':
      case 'bind_receiver': {
        const ok = pdu.system_id === SYSTEM_ID && pdu.password === PASSWORD;
        const status = ok ? 0 : smpp.ESME_RINVPASWD;
        session.send(pdu.response({ system_id: 'NODE-SMSC', command_status: status }));
        break;
      }
      case 'enquire_link':
        session.send(pdu.response());
        break;
      case 'submit_sm':
      case 'data_sm':
        session.send(pdu.response({ message_id: 'node-' + ++msgId }));
        break;
      case 'unbind':
        session.send(pdu.response());
        break;
      case 'unbind_resp':
        session.close();
        break;
      default:
        if (!pdu.isResponse()) session.send(pdu.response({ command_status: smpp.ESME_RINVCMDID }));
    }
  });
});

function fromJson(fields) {
  const pdu = {};
  for (const [k, v] of Object.entries(fields || {})) {
    if (k.endsWith('_hex')) pdu[k.slice(0, -4)] = Buffer.from(v, 'hex');
    else pdu[k] = v;
  }
  return pdu;
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let c;
  try {
    c = JSON.parse(line);
  } catch (e) {
    return out({ event: 'bad_command', line });
  }
  if (c.cmd === 'exit') {
    if (current) current.close();
    server.close();
    return process.exit(0);
  }
  if (!current) return out({ event: 'no_session', cmd: c.cmd });
  if (c.cmd === 'deliver_sm') current.deliver_sm(fromJson(c.pdu));
  else if (c.cmd === 'enquire_link') current.enquire_link();
  else if (c.cmd === 'unbind') current.unbind();
  else out({ event: 'bad_command', line });
});
process.stdin.on('end', () => process.exit(0));

server.listen(PORT, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }));
