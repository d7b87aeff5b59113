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

The central profile does not advertise or serve GATT: adv_interval,
connectable, battery_level and security are errors on it.

SECURITY (peripherals)

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
  mesh-node
      ` + summaryMeshNode + `
  mesh-provisioner
      ` + summaryMeshProv + `

EXAMPLE

` + Example
