package world

// Example is a complete world file: two controllers for external hosts, an
// oximeter, a heart-rate sensor, a generic peripheral and a central.
// testdata/example.yaml holds the same text.
const Example = `# A small ward: two external hosts (--vhci 2) and four built-in devices.
seed: 42
medium:
  path_loss_exponent: 2.2
  reference_loss_db: 40
  sensitivity_dbm: -95
  packet_loss: 0.01
controllers:
  - address: "00:AA:01:00:00:01"
    position: [0, 0]
  - position: [3, 0]              # address defaults to 00:AA:01:00:00:02
devices:
  - name: "Oximeter"
    profile: oximeter
    address: "C0:00:00:00:00:01"
    address_type: random
    position: [1.5, 0]
    tx_power: 0
    adv_interval: 100ms
    battery_level: 87
  - name: "HR Strap"
    profile: heart-rate
    address: "00:1B:DC:00:00:01"
    address_type: public
    position: [0, 2]
    tx_power: -8
    adv_interval: 250             # milliseconds
  - name: "Thermo 1"
    profile: generic
    position: [-1, -1]            # address defaults to C0:00:00:00:00:03
    connectable: true
    battery_level: 55
    services:
      - uuid: "1809"              # Health Thermometer
        characteristics:
          - uuid: "2A1C"          # Temperature Measurement
            properties: [indicate]
            value: "hex:00 6C 0E 00 FE"
            notify_every: 2s
      - uuid: "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
        characteristics:
          - uuid: "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
            properties: [write, write-without-response]
          - uuid: "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
            properties: [read, notify]
            value: "hello"
  - name: "Ward Hub"
    profile: central
    position: [0, 1]
`

// Reference documents the world file format; `blesim help world` prints it.
const Reference = `WORLD FILES

A world file (YAML) declares blesim's simulated air: the radio medium, the
controllers handed to external hosts, and the built-in devices. Load one with

    blesim serve world.yaml --vhci 2

Parsing is strict. Unknown fields, wrong types and out-of-range values are
errors naming the file, line and field, for example

    world.yaml:12: devices[1].position: want [x, y] in metres, got "near"
    world.yaml:7: devices[0]: unknown field "adress" (did you mean "address"?)

Every field is optional unless marked required. A field written with no
value (or ~, or null) counts as not given. An empty file is a valid world.
Aliases (*name) may stand for any value; merge keys (<<) are not supported.

TOP LEVEL

  seed          whole number 0 to 18446744073709551615; default 1. Seeds the
                simulation's random source: the same world and seed give a
                byte-identical run.
  medium        the radio model (below).
  controllers   list of controllers for external hosts (below).
  devices       list of built-in devices (below). May be empty or absent,
                e.g. for a world of external hosts only.

MEDIUM

The received power at distance d metres is
tx_power - reference_loss_db - 10 * path_loss_exponent * log10(d) dBm. A
packet is heard if that is at least sensitivity_dbm, and is then still lost
with probability packet_loss.

  path_loss_exponent  1.5 to 6; default 2 (free space). Indoors is 2.5 to 4.
  reference_loss_db   loss at 1 m in dB, 0 to 100; default 40 (2.4 GHz).
  sensitivity_dbm     weakest signal received, -120 to -30 dBm; default -95.
  packet_loss         probability 0 to 1 of losing a heard packet; default 0.

CONTROLLERS

controllers[i] applies to the i-th controller given to an external host
(serve --vhci N, --hci-listen). Controllers beyond the list get the defaults.

  address       "XX:XX:XX:XX:XX:XX", most significant octet first. Default
                00:AA:01:00:00:NN with NN = i+1 (see DEFAULT ADDRESSES).
  address_type  public or random; default public. A random address must be
                static (first octet C0 to FF).
  position      [x, y] in metres, each -10000 to 10000; default [0, 0].

DEVICES

Each device is a virtual controller driven by a built-in host running a
profile.

  name           required. The advertised Complete Local Name: 1 to 26
                 bytes of UTF-8, no control characters, unique in the world.
                 26 bytes is what fits in a 31-byte ADV_IND next to the
                 Flags.
  profile        required. One of the profiles below.
  address        "XX:XX:XX:XX:XX:XX", most significant octet first, unique
                 among all controllers and devices. Default: see DEFAULT
                 ADDRESSES.
  address_type   public or random; default random. A random address must
                 be static: its two most significant bits are 11, so the
                 first octet is C0 to FF, and its other 46 bits are neither
                 all 0 nor all 1. Private addresses (resolvable or not) are
                 made at run time, never declared.
  position       [x, y] in metres, each -10000 to 10000; default [0, 0].
  tx_power       whole number of dBm, -20 to 10; default 0.
  adv_interval   20ms to 10.24s; default 100ms. Go duration syntax (100ms,
                 1.5s) or a whole number of milliseconds (100).
  connectable    true (ADV_IND) or false (ADV_NONCONN_IND); default true.
  battery_level  whole-number percentage 0 to 100 for the Battery Service.
                 oximeter and heart-rate always have one (this sets its
                 level); on a generic device it adds one, so do not also
                 declare service 180F.
  services       generic profile only: the GATT services to serve (below).
  security       pairing and bonding (below).
  mesh           mesh-node and mesh-provisioner only (below).
  count          1 to 1000: this entry declares that many devices, named
                 NAME-1 .. NAME-N (each name at most 26 bytes). With an
                 address, copy i gets that address plus i-1 in its low 40
                 bits; without one, each copy gets a default address. Every
                 other field, position included, is shared. Not for mesh
                 devices (each needs its own uuid) or with bond_file.
  host           builtin (default) or kernel. central only: kernel makes the
                 real Linux kernel and BlueZ the central. blesim run plugs the
                 device's controller in through /dev/vhci and drives
                 bluetoothd over D-Bus (Device1.Connect, Pair, RemoveDevice,
                 GattCharacteristic1 ReadValue...); it runs in real time.
                 Needs /dev/vhci, bluetoothd and root: on a machine without
                 them, use the VM harness (blesim vm). blesim run --host
                 NAME=kernel sets it without editing the file.

The central profile does not advertise or serve GATT: adv_interval,
connectable and battery_level are errors on it. Its security section says
how it pairs when it answers a Security Request or raises a link's security
(a scenario's pair step sets io_capability, bonding, mitm and
secure_connections for the pairing it starts); security_request and
rpa_rotate are errors on it.

SECURITY

How the device pairs and bonds (Core v5.4 Vol 3 Part H). Without a security
section a device pairs Just Works, bonds, prefers Secure Connections.

  io_capability      display-only, display-yes-no, keyboard-only,
                     no-input-no-output or keyboard-display; default
                     no-input-no-output. With the peer's, it picks the
                     association model (Just Works, Passkey Entry, Numeric
                     Comparison).
  bonding            true or false; default true: keep the keys.
  mitm               true or false; default false: require MITM protection
                     (an authenticated pairing).
  secure_connections prefer (default), only (refuse legacy pairing) or
                     legacy (never LE Secure Connections).
  passkey            a fixed 6-digit passkey 0 to 999999, as products print
                     on a label or QR code. Without it each Passkey Entry
                     uses a random passkey, shown in the log.
  oob_legacy_tk      16 bytes as 32 hex digits: the legacy OOB temporary key.
  min_key_size       7 to 16 bytes; default 7.
  security_request   true or false; default false: send a Security Request
                     when a central connects.
  forget_keys_after  a number of connections after which the device loses
                     every bond (0, the default: never). Reproduces the
                     lost-bond field bug: the central's next encryption gets
                     PIN or Key Missing.
  bond_file          where the bonds are kept; default
                     STATE_DIR/NAME.bonds.json (serve --state-dir).
  rpa_rotate         advertise with a resolvable private address from the
                     device's IRK, renewed at this period (1s to 24h).
  load_bonds_at_boot true (default) or false: false reproduces firmware that
                     saves its bonds on every change but never loads them
                     when it boots: after a reboot (scenario step reboot)
                     it has forgotten them while the bond file keeps them.
  pairing_mode       e-lock only: true or false, the lock's pairing mode at
                     start; default on while the lock has no bond. Off,
                     the lock refuses Pairing Requests (Pairing Not
                     Supported, 0x05) and its controller takes connections
                     only from its bonded phones' identity addresses
                     (Filter Accept List, advertising filter policy 0x03);
                     the scenario step pairing_mode switches it. An e-lock
                     without a security section is display-only with
                     mitm: true.

Key distribution (Vol 3 Part H §3.6.1), when bonding:

  initiator_keys     list of enc-key, id-key, sign ([] for none); default
                     all three. A central offers these in its Pairing
                     Request; a peripheral accepts at most these from the
                     central.
  responder_keys     as initiator_keys: a central asks the peripheral for
                     these; a peripheral gives at most these. The Pairing
                     Response carries the intersection of request and offer.
  strict_key_distribution
                     true or false; default false. A key the peer sends
                     that was not negotiated (finding key-not-negotiated)
                     or non-random key material (finding non-random-key:
                     all octets equal, a counting sequence, a repeating
                     pattern, few distinct octets, a sample value from the
                     specification) fails the pairing with Pairing Failed
                     Unspecified Reason (0x08); otherwise it is reported
                     and ignored.
  request_mitm       true or false; default false: set the MITM flag in
                     pairing commands without requiring MITM protection (a
                     Just Works pairing goes on), as BlueZ does when its IO
                     capability is not no-input-no-output. mitm: true both
                     sets the flag and requires an authenticated key.

Misbehaviour (to reproduce a faulty peer, e.g. the Raspberry Pi of the
key-distribution scenario):

  send_unnegotiated_keys
                     true: distribute every key this device offers whatever
                     the Pairing Response negotiated (Encryption
                     Information and Central Identification included).
  fixed_ltk          16 bytes as 32 hex digits, in the order they go on air
                     (as btmon prints them): the LTK this device
                     distributes instead of a random one.
  fixed_ediv         0 to 65535 (e.g. 0x000c): the EDIV distributed.
  fixed_rand         0 to 18446744073709551615 (e.g. 0x8877665544332211): the
                     Rand distributed.

Out-of-band data:

  oob_sc             LE Secure Connections OOB data (Vol 3 Part H
                     §2.3.5.6.4): a mapping with this device's own fixed
                     data, the peer's, or both (below). Values are
                     "hex:..." (prefix optional), r and C in the order
                     btmon prints them. (oob_legacy_tk above is the legacy
                     OOB key; both devices need the same one.)

  private_key        32 bytes: this device's P-256 private key (most
                     significant octet first, 1 to n-1), used in every OOB
                     pairing, as on an NFC tag. With random.
  random             16 bytes: this device's r. The device logs r and its
                     confirm value C = f4(PKx, PKx, r, 0) when it starts:
                     give them to the peer.
  peer_random        16 bytes: the peer's r, received out of band. With
                     peer_confirm, sets the OOB data flag.
  peer_confirm       16 bytes: the peer's C. A C that does not match the
                     peer's public key and r fails the pairing with Confirm
                     Value Failed (0x04).

MESH (mesh-node and mesh-provisioner)

A mesh-node is an unprovisioned Bluetooth Mesh device (Mesh Protocol v1.1):
it sends Unprovisioned Device beacons, can be provisioned over PB-ADV and/or
PB-GATT with any OOB method, then runs as a node with a Configuration Server
and a Generic OnOff Server on each element. A mesh-provisioner provisions the
devices it hears (or only its targets), then adds an AppKey and binds it.

mesh-node:
  uuid            required. The 16-byte Device UUID as 32 hex digits
                  (dashes allowed).
  bearers         list of pb-adv, pb-gatt; default [pb-adv].
  oob_info        the beacon's 16-bit OOB Information; default 0.
  uri             a URI whose hash the beacon carries.
  elements        1 to 16; default 1.
  static_oob      the static OOB value ("hex:..." or text, up to 32 bytes).
  public_key_oob  true: the device's public key is given out of band.
  private_key     with public_key_oob: a fixed P-256 private key, 32 bytes
                  in hex.
  output_oob      {size: 1..8, actions: [blink, beep, vibrate, numeric,
                  alphanumeric]}: the device shows a value the provisioner's
                  user enters.
  input_oob       {size: 1..8, actions: [push, twist, numeric,
                  alphanumeric]}: the provisioner shows, the device's user
                  enters it (blesim ctl NAME passkey VALUE).
  state_file      where the node keeps its keys, address and sequence
                  number; default STATE_DIR/NAME.mesh.json.

mesh-provisioner:
  net_key, app_key  16 bytes in hex; default random.
  iv_index          default 0.
  address           the provisioner's unicast address; default 1.
  targets           list of {uuid, static_oob, public_key (64 bytes hex)}.
  any               provision every device heard; default true without
                    targets.
  pb_gatt           also provision over PB-GATT.
  state_file        default STATE_DIR/NAME.mesh.json.

SERVICES (generic devices)

  uuid             required. "180F" (16-bit, 4 hex digits, 0x optional) or
                   "6e400001-b5a3-f393-e0a9-e50e24dcca9e" (128-bit). A
                   128-bit UUID on the Bluetooth base
                   (0000xxxx-0000-1000-8000-00805f9b34fb) is the 16-bit xxxx.
                   Declaration and descriptor types (2800 to 29FF) are not
                   allowed: the host makes those.
  characteristics  list of characteristics (below).

CHARACTERISTICS

  uuid          required. As for services.
  properties    required. A non-empty list of: read, write,
                write-without-response, notify, indicate.
  value         initial value, at most 512 bytes: "hex:5701" for bytes
                (spaces allowed between bytes), or text, sent as UTF-8. An
                unquoted number is an error: write "hex:57" for the byte
                0x57 or "87" for the text. Default: empty.
  security      what reading or writing the value requires of the link:
                none (default), encrypted, authenticated (MITM) or
                authorized. Over a link without it the device answers
                Insufficient Encryption / Authentication / Authorization,
                so the central pairs, as BlueZ does.
  notify_every  notify or indicate characteristics only: the built-in host
                sends the value to subscribed clients at this period (10ms
                to 24h, syntax as adv_interval), incrementing its last byte
                each time. Needs a non-empty value.

DEFAULT ADDRESSES

An entry without an address gets the (i+1)-th address of its family, where
i is its index in its list:

    controllers, public   00:AA:01:00:00:NN
    controllers, random   C0:AA:01:00:00:NN
    devices, random       C0:00:00:00:00:NN
    devices, public       00:AA:02:00:00:NN

(NN = i+1, carrying into the octets to its left past FF). If that address is
written elsewhere in the file or was given to an earlier entry, the next one
in the family is used. Defaults never depend on anything but the file.

PROFILES

  generic
      ` + summaryGeneric + `
  oximeter
      ` + summaryOximeter + `
  heart-rate
      ` + summaryHeartRate + `
  central
      ` + summaryCentral + `
  e-lock
      ` + summaryELock + `
  mesh-node
      ` + summaryMeshNode + `
  mesh-provisioner
      ` + summaryMeshProv + `

EXAMPLE

` + Example
