//! Bawaba's test peers. The SMSC is built on rusmpp, an SMPP codec nobody on
//! this team wrote, so a bug in our codec shows up instead of cancelling out.
