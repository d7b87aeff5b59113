package scenario

// Reference documents the scenario file format (shown by
// `blesim run --help`).
const Reference = `A scenario file is a world file (seed, medium, devices; see blesim help
world) plus a name, a description, steps on a timeline and expectations:

  name: lost-bond
  description: one line for blesim list
  seed: 1
  devices:
    - {name: Phone, profile: central}
    - {name: Oximeter, profile: oximeter, position: [1, 0],
       security: {secure_connections: legacy, security_request: true}}
  steps:
    - at: 0s                               # virtual time (steps run in order:
                                           # not before the previous one completed), or
      connect: {device: Phone, peer: Oximeter}
    - after: previous                      # (the default) when the previous
      wait: 3s                             # step completed; after: 500ms adds a delay
    - read: {device: Phone, uuid: "2A19"}
    - disconnect: Phone
    - forget_keys: Oximeter
  expect:
    - encryption_change: {device: Phone, status: 0x06, count: 2}
    - pairing: {device: Phone, result: success}
      within: 10s

Steps (DEVICE is a central except for forget_keys and move):
  connect: {device, peer}        scan for the peer and connect (done when connected)
  pair: {device, bond, secure_connections, mitm, io_capability}
                                 pair on the connection, like aioble's
                                 connection.pair(bond=True, le_secure=True, mitm=False, io=3);
                                 io_capability is 0-4 or a name (no-input-no-output)
  read / subscribe: {device, uuid}, write: {device, uuid, value: "hex:01"}
  disconnect: DEVICE             end the connection (0x13)
  wait: DURATION
  forget_keys: DEVICE            a peripheral loses every bond (the lost-bond fault)
  delete_bond: DEVICE | {device, peer}   delete bonds on the central
  move: {device, position: [x, y]}
  set_packet_loss: P             probability 0 to 1 that a heard packet is lost
  power_off: DEVICE              the device loses power: it stops advertising and
                                 scanning and drops its links silently (peers
                                 see a supervision timeout, 0x08)
  power_on: DEVICE | {device, load_bonds}
                                 HCI Reset and its host starts again (a central
                                 starts at its next connect step)
  reboot: DEVICE | {device, load_bonds}
                                 power_off then power_on. load_bonds: false boots
                                 without loading the saved bonds (the bond file
                                 keeps them); default: security.load_bonds_at_boot
  provision: {device, node, bearer, auth, public_key, static_oob, oob_value, background}
                                 a mesh-provisioner (with mesh: {any: false})
                                 provisions a mesh-node once: bearer pb-adv
                                 (default) or pb-gatt; auth none (default),
                                 static, output or input; public_key in-band
                                 (default) or oob (route A2). The runner plays
                                 the user: output OOB is read from the node and
                                 entered on the provisioner, input OOB is read
                                 from the provisioner and typed on the node,
                                 500ms later; oob_value types that value
                                 instead, static_oob replaces the node's static
                                 OOB. Done when the node is provisioned and
                                 configured or the attempt failed (no retry);
                                 background: true is done at once.
  pairing_mode: {device, on: true|false}   an e-lock enters or leaves pairing
                                 mode (off: Pairing Not Supported, and only
                                 bonded phones may connect)
  passkey: {device, value: 123456}   what the central's user types when asked
                                 for a passkey, from now on (a QR code, or a typo)
  probe_passkey: DEVICE | {device, timeout: 30m}   the central pairs again and
                                 again, learning a fixed passkey bit by bit
                                 (findings passkey-bit, passkey-revealed)
A step that cannot complete (not connected, no answer within 30s) is noted in
the result and the timeline goes on.

Expectations (each may have within: DURATION, a deadline from time 0; without
count: at least one such event, with count: exactly that many):
  encryption_change: {device, status: 0x06}
  pairing: {device, result: success|failed, reason: 0x08}
           a success may also give method: just-works, passkey-entry,
           numeric-comparison or oob, and secure_connections: true|false
  finding: {device, code: key-not-negotiated, message: "text it contains"}
  att_error: {device, uuid, code: 0x05}   a read, write or subscribe step failed
                                       with that ATT error
  read: {device, uuid, value: "hex:57"}
  disconnect: {device, reason: 0x05}   the reason the device gave when it ended
                                       the link itself, else the one it was told
  connections: {device, count: 3}
  bond: {device, present: true, peer: NAME}   the bond store at the end of the run
  provisioning: {device, node, result: success|failed, reason: 0x04,
                link_closed: timeout|fail, route: A1B2, bearer: pb-adv}
                                       a provisioner's (of node) or a node's
                                       outcome; reason is the Provisioning Failed
                                       error code, link_closed the reason the
                                       link closed (PB-ADV transaction timeout:
                                       timeout; a lost PB-GATT connection: fail)

A step or an expectation may also have host: kernel (played or checked only
in runs where the real kernel plays a device) or host: builtin (only in runs
with built-in hosts only), for what the kernel and BlueZ do differently or
cannot be driven to do; a skipped step completes at once, and the summary
lists skipped expectations as skip.

The real kernel as the central: give a central host: kernel in the file, or
run blesim run --host NAME=kernel SCENARIO. The device's controller is
plugged into the kernel through /dev/vhci and the steps call bluetoothd over
D-Bus (connect: Device1.Connect after LE discovery; pair: Device1.Pair, with
blesim's agent using io_capability; delete_bond: Adapter1.RemoveDevice;
read/write/subscribe: GattCharacteristic1). The agent types the passkey a
passkey step gave, else the peer's security.passkey. The expectations read
the kernel's HCI traffic (connections, Encryption Change, SMP outcomes) and
bluetoothd's bonds. The run is paced to the wall clock; at:/within: count
from the moment bluetoothd has the adapter. It needs root, /dev/vhci,
dbus-daemon and bluetoothd: inside the VM harness, blesim vm -- 'blesim run
--host Phone=kernel lost-bond --out /tmp/out/lost-bond'.

The run ends 2s after the last step (or at duration: if given, or at the latest
within). Errors name the file, line and field.
`
