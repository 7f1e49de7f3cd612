//! UDP: search, beacons and the repeater protocol.
