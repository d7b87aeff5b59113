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
A step that cannot complete (not connected, no answer within 30s) is noted in
the result and the timeline goes on.

Expectations (each may have within: DURATION, a deadline from time 0; without
count: at least one such event, with count: exactly that many):
  encryption_change: {device, status: 0x06}
  pairing: {device, result: success|failed, reason: 0x08}
  finding: {device, code: key-not-negotiated}
  read: {device, uuid, value: "hex:57"}
  disconnect: {device, reason: 0x05}   the reason the device gave when it ended
                                       the link itself, else the one it was told
  connections: {device, count: 3}
  bond: {device, present: true, peer: NAME}   the bond store at the end of the run

The run ends 2s after the last step (or at duration: if given, or at the latest
within). Errors name the file, line and field.
`
