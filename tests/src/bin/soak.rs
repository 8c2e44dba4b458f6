//! `soak`: churn of bots joining, playing and leaving (being written).
fn main() {}
