//! Reading pcap captures of CA traffic.
