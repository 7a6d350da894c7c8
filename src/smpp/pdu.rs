//! SMPP 3.4 PDU types: header, bodies, optional TLVs. No I/O.
