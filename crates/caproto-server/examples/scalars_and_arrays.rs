//! Every native type, as a scalar and as an array: `sa:double`,
//! `sa:float`, `sa:long`, `sa:short`, `sa:char`, `sa:string`, `sa:enum`,
//! and `sa:double_array` ... `sa:char_array` (capacity 16, partly filled:
//! reads of count 0 get the current length), `sa:text` (a byte array
//! holding text longer than 40 characters: `caget -S sa:text`).

use caproto_server::{Ioc, Pv};

#[tokio::main]
async fn main() -> Result<(), caproto_server::Error> {
    let mut ioc = Ioc::from_args("sa:");
    ioc.pv("double", Pv::double(1.5).precision(3).units("mm"));
    ioc.pv("float", Pv::float(2.5).precision(2));
    ioc.pv("long", Pv::long(-100_000));
    ioc.pv("short", Pv::short(-7));
    ioc.pv("char", Pv::char(65));
    ioc.pv("string", Pv::string("hello"));
    ioc.pv("enum", Pv::enumerated(&["zero", "one", "two"], 1));
    ioc.pv("double_array", Pv::array(vec![1.0, 2.0, 3.0], 16));
    ioc.pv("float_array", Pv::array(vec![1.0f32, 2.0], 16));
    ioc.pv("long_array", Pv::array(vec![1i32, 2, 3, 4], 16));
    ioc.pv("short_array", Pv::array(vec![1i16, -1], 16));
    ioc.pv("char_array", Pv::array(vec![1u8, 2, 3], 16));
    ioc.pv(
        "string_array",
        Pv::array(vec!["a".to_owned(), "b".to_owned()], 4),
    );
    ioc.pv(
        "text",
        Pv::char_text("a text longer than the 40 bytes of a DBR_STRING value", 256),
    );
    ioc.run().await
}
