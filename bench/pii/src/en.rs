//! English calls: a support line where the customer gives card, phone, postal code,
//! e-mail, date of birth and (for Japanese paperwork) My Number, among order numbers,
//! amounts, dates, times, quantities and product codes that are not personal data.

use kiku_domain::pii::PiiKind;

use crate::call::{p, t, Builder, AGENT, CUSTOMER};
use crate::numbers;
use crate::read::read_out;
use crate::rng::Rng;
use crate::speak::{english_forms, say_groups, Form};

pub struct People {
    pub agent_first: &'static str,
    pub agent_last: &'static str,
    pub first: &'static str,
    pub last: &'static str,
}

const FIRST: &[&str] = &[
    "Emily", "James", "Olivia", "Daniel", "Sarah", "Michael", "Grace", "Thomas", "Hannah",
    "Robert", "Megan", "Kenji", "Yuki", "Priya", "Carlos",
];
const LAST: &[&str] = &[
    "Johnson", "Smith", "Brown", "Wilson", "Taylor", "Davies", "Clarke", "Nakamura", "Patel",
    "Garcia", "White", "Young", "Hughes", "Tanaka", "Murphy",
];
const FILLERS: &[&str] = &["uh, ", "um ", "and then ", "then ", "er, "];
const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub fn people(rng: &Rng) -> People {
    People {
        agent_first: rng.pick(FIRST),
        agent_last: rng.pick(LAST),
        first: rng.pick(FIRST),
        last: rng.pick(LAST),
    }
}

fn form(rng: &Rng) -> Form {
    rng.pick(english_forms())
}

pub fn opening(b: &mut Builder, rng: &Rng, who: &People) {
    let agent = b.entity(PiiKind::Name);
    b.say(
        rng,
        AGENT,
        vec![
            t("Thank you for calling Northwind, this is "),
            p(agent, who.agent_first),
            t(" speaking, how can I help?"),
        ],
    );
    let cust = b.entity(PiiKind::Name);
    let cust2 = b.entity(PiiKind::Name);
    match rng.below(3) {
        0 => b.say(
            rng,
            CUSTOMER,
            vec![
                t("Hi, this is "),
                p(cust, who.first),
                t(" "),
                p(cust2, who.last),
                t(", I'm calling about my order."),
            ],
        ),
        1 => b.say(
            rng,
            CUSTOMER,
            vec![
                t("Hello, my name's "),
                p(cust, format!("{} {}", who.first, who.last)),
                t(" and I have a question about a bill."),
            ],
        ),
        _ => b.say(
            rng,
            CUSTOMER,
            vec![
                t("Yes hi, "),
                p(cust, who.last),
                t(" here, "),
                p(cust2, who.first),
                t(" "),
                t("— I need to update my details."),
            ],
        ),
    }
    let cust3 = b.entity(PiiKind::Name);
    b.say(
        rng,
        AGENT,
        vec![
            t(rng.pick(&["Thanks, ", "Of course, ", "Sure thing, "])),
            t(rng.pick(&["Mr. ", "Ms. ", ""])),
            p(cust3, who.last),
            t(". Let me pull that up."),
        ],
    );
}

pub fn closing(b: &mut Builder, rng: &Rng, who: &People) {
    let n = b.entity(PiiKind::Name);
    b.say(
        rng,
        AGENT,
        vec![t("Is there anything else, "), p(n, who.first), t("?")],
    );
    b.say(
        rng,
        CUSTOMER,
        vec![t("No, that's everything. Thanks for your help.")],
    );
    b.say(rng, AGENT, vec![t("You're welcome. Have a great day.")]);
}

/// Scenes with personal data.
pub fn positive(b: &mut Builder, rng: &Rng, who: &People, scene: usize) {
    match scene {
        0 => card(b, rng),
        1 => phone(b, rng),
        2 => my_number(b, rng),
        3 => postal(b, rng),
        4 => email(b, rng, who),
        5 => birth(b, rng),
        _ => address(b, rng),
    }
}

pub const POSITIVE_SCENES: usize = 7;
pub const NEGATIVE_SCENES: usize = 9;

const STREETS: &[&str] = &[
    "Maple",
    "Oak",
    "Cedar Hill",
    "Lincoln",
    "Park",
    "Sunset",
    "Willow Creek",
    "Harbor",
    "Elm",
    "Jefferson",
];
const STREET_TYPES: &[&str] = &[
    "Street",
    "Avenue",
    "Road",
    "Drive",
    "Lane",
    "Boulevard",
    "Court",
    "Way",
    "St.",
    "Ave.",
];

/// A street address as a transcript writes it ("1234 North Maple Avenue, Apt 4B").
fn street_address(rng: &Rng) -> String {
    let number = rng.range(1, 9999);
    let direction = if rng.chance(0.2) {
        rng.pick(&["North ", "South ", "East ", "West "])
    } else {
        ""
    };
    let unit = if rng.chance(0.3) {
        format!(
            ", {} {}{}",
            rng.pick(&["Apt", "Apartment", "Suite", "Unit"]),
            rng.range(1, 40),
            rng.pick(&["", "B", "C"])
        )
    } else {
        String::new()
    };
    format!(
        "{number} {direction}{} {}{unit}",
        rng.pick(STREETS),
        rng.pick(STREET_TYPES)
    )
}

fn address(b: &mut Builder, rng: &Rng) {
    let e = b.entity(PiiKind::Address);
    let said = street_address(rng);
    if rng.chance(0.25) {
        b.say(
            rng,
            CUSTOMER,
            vec![
                t(rng.pick(&["I moved, it's ", "Send it to ", "Ship it to my home, "])),
                p(e, said),
                t(rng.pick(&[".", ", in Springfield.", ", thanks."])),
            ],
        );
    } else {
        b.say(
            rng,
            AGENT,
            vec![t(rng.pick(&[
                "And the delivery address?",
                "Can I confirm your home address?",
                "Where should the technician go?",
            ]))],
        );
        b.say(
            rng,
            CUSTOMER,
            vec![
                t(rng.pick(&["It's ", "", "Sure, ", "Uh, "])),
                p(e, said),
                t(rng.pick(&[".", ", Portland.", ""])),
            ],
        );
    }
}

fn card(b: &mut Builder, rng: &Rng) {
    let groups = numbers::misheard(rng, numbers::card(rng));
    let f = form(rng);
    let e = b.entity(PiiKind::CardNumber);
    if rng.chance(0.25) {
        // Volunteered, no question first.
        let before = rng.pick(&[
            "Can you just put it on ",
            "Please charge it to ",
            "Use the one ending, well, the whole thing is ",
        ]);
        read_out(b, rng, CUSTOMER, before, e, &groups, f, ".", FILLERS);
    } else {
        let ask = rng.pick(&[
            "Could I have the card number, please?",
            "What's the long number on the front of the card?",
            "And the number on your Visa?",
            "Go ahead with the digits whenever you're ready.",
        ]);
        b.say(rng, AGENT, vec![t(ask)]);
        let before = rng.pick(&["Sure, it's ", "Yes, ", "OK, ", "It's "]);
        read_out(
            b,
            rng,
            CUSTOMER,
            before,
            e,
            &groups,
            f,
            rng.pick(&[".", ", got that?", ""]),
            FILLERS,
        );
    }
    if rng.chance(0.3) {
        let back = b.entity(PiiKind::CardNumber);
        let said = say_groups(rng, &groups, form(rng));
        b.say(
            rng,
            AGENT,
            vec![
                t("Let me read that back: "),
                p(back, said),
                t(", is that right?"),
            ],
        );
        b.say(rng, CUSTOMER, vec![t("That's right.")]);
    }
}

fn phone(b: &mut Builder, rng: &Rng) {
    let (groups, plus) = match rng.below(4) {
        0 | 1 => (numbers::us_phone(rng), false),
        2 => (numbers::japanese_phone(rng), false),
        _ => (numbers::international_phone(rng), true),
    };
    let f = form(rng);
    let e = b.entity(PiiKind::PhoneNumber);
    let lead = if plus {
        if matches!(f, Form::English) {
            "plus "
        } else {
            "+"
        }
    } else {
        ""
    };
    if rng.chance(0.25) {
        let before = format!(
            "{}{lead}",
            rng.pick(&["If I'm not in, try ", "My wife's on ", "Text me at "])
        );
        read_out(
            b,
            rng,
            CUSTOMER,
            &before,
            e,
            &groups,
            f,
            " after six.",
            FILLERS,
        );
    } else {
        let ask = rng.pick(&[
            "What's the best number to reach you on?",
            "Can I get a callback number?",
            "And your phone number?",
            "Which mobile should we text the code to?",
        ]);
        b.say(rng, AGENT, vec![t(ask)]);
        let before = format!(
            "{}{lead}",
            rng.pick(&["It's ", "You can reach me on ", "Sure, ", "That'd be "])
        );
        read_out(b, rng, CUSTOMER, &before, e, &groups, f, ".", FILLERS);
    }
    if lead.is_empty() && rng.chance(0.3) {
        let back = b.entity(PiiKind::PhoneNumber);
        let said = say_groups(rng, &groups, form(rng));
        b.say(
            rng,
            AGENT,
            vec![t("So that's "), p(back, said), t(", correct?")],
        );
        b.say(rng, CUSTOMER, vec![t("Yes.")]);
    }
}

fn my_number(b: &mut Builder, rng: &Rng) {
    let groups = numbers::misheard(rng, numbers::my_number(rng));
    let e = b.entity(PiiKind::MyNumber);
    let ask = rng.pick(&[
        "For the tax form in Japan we need your My Number, the twelve digits.",
        "Can you read me your individual number from the My Number card?",
        "I'll also need the twelve-digit number for the withholding slip.",
    ]);
    b.say(rng, AGENT, vec![t(ask)]);
    read_out(
        b,
        rng,
        CUSTOMER,
        rng.pick(&["OK, it's ", "Right, ", "Sure, "]),
        e,
        &groups,
        form(rng),
        ".",
        FILLERS,
    );
}

fn postal(b: &mut Builder, rng: &Rng) {
    let groups = numbers::postal_code(rng);
    let e = b.entity(PiiKind::PostalCode);
    b.say(
        rng,
        AGENT,
        vec![t(rng.pick(&[
            "And the postal code for the delivery?",
            "What's the zip code there?",
            "Which postcode is that?",
        ]))],
    );
    let f = form(rng);
    let said = match f {
        Form::Written => format!("{}-{}", groups[0], groups[1]),
        _ => say_groups(rng, &groups, f),
    };
    b.say(
        rng,
        CUSTOMER,
        vec![
            t(rng.pick(&["It's ", "", "Postal code "])),
            p(e, said),
            t(", in Tokyo."),
        ],
    );
}

fn email(b: &mut Builder, rng: &Rng, who: &People) {
    let e = b.entity(PiiKind::Email);
    let (first, last) = (who.first.to_lowercase(), who.last.to_lowercase());
    let domain = rng.pick(&[
        "gmail.com",
        "outlook.com",
        "example.co.jp",
        "yahoo.co.jp",
        "northmail.net",
    ]);
    let sep = rng.pick(&[".", "_", ""]);
    let num = if rng.chance(0.3) {
        rng.range(1, 99).to_string()
    } else {
        String::new()
    };
    b.say(
        rng,
        AGENT,
        vec![t(rng.pick(&[
            "Which e-mail should we send the receipt to?",
            "Can I take an email address?",
            "What's your email?",
        ]))],
    );
    let said = if rng.chance(0.5) {
        format!("{first}{sep}{last}{num}@{domain}")
    } else {
        let sep = match sep {
            "." => " dot ",
            "_" => " underscore ",
            _ => "",
        };
        format!(
            "{first}{sep}{last}{num} at {}",
            domain.replace('.', " dot ")
        )
    };
    b.say(
        rng,
        CUSTOMER,
        vec![t(rng.pick(&["It's ", "", "Sure, "])), p(e, said), t(".")],
    );
}

fn date(rng: &Rng, from_year: usize, to_year: usize) -> String {
    let (y, m, d) = (
        rng.range(from_year, to_year),
        rng.range(1, 12),
        rng.range(1, 28),
    );
    match rng.below(4) {
        0 => format!("{} {d}, {y}", MONTHS[m - 1]),
        1 => format!("{m}/{d}/{y}"),
        2 => format!("{d}th of {} {y}", MONTHS[m - 1]),
        _ => format!("{y}-{m:02}-{d:02}"),
    }
}

fn birth(b: &mut Builder, rng: &Rng) {
    let e = b.entity(PiiKind::DateOfBirth);
    let when = date(rng, 1940, 2005);
    if rng.chance(0.3) {
        b.say(
            rng,
            CUSTOMER,
            vec![t("I was born on "), p(e, when), t(", if that helps.")],
        );
    } else {
        b.say(
            rng,
            AGENT,
            vec![t(rng.pick(&[
                "For security, can you confirm your date of birth?",
                "And your date of birth, please?",
                "What's the birth date on the account?",
            ]))],
        );
        b.say(
            rng,
            CUSTOMER,
            vec![t(rng.pick(&["It's ", "", "Uh, "])), p(e, when), t(".")],
        );
    }
}

/// Scenes with numbers, dates and names that are not personal data.
pub fn negative(b: &mut Builder, rng: &Rng, scene: usize) {
    match scene {
        0 => {
            let g = numbers::order_number(rng);
            let said = say_groups(rng, &g, form(rng));
            b.say(
                rng,
                CUSTOMER,
                vec![
                    t(rng.pick(&["My order number is ", "It's about order ", "The order was "])),
                    t(said),
                    t("."),
                ],
            );
        }
        1 => {
            let g = numbers::tracking_number(rng);
            let said = say_groups(rng, &g, form(rng));
            b.say(
                rng,
                AGENT,
                vec![
                    t("It shipped today, the tracking number is "),
                    t(said),
                    t("."),
                ],
            );
        }
        2 => {
            let g = numbers::member_number(rng);
            let said = say_groups(rng, &g, form(rng));
            b.say(
                rng,
                CUSTOMER,
                vec![
                    t(rng.pick(&[
                        "My customer ID is ",
                        "The account number on the invoice is ",
                    ])),
                    t(said),
                    t("."),
                ],
            );
        }
        3 => {
            let amount = match rng.below(3) {
                0 => format!(
                    "${},{:03}.{:02}",
                    rng.range(1, 9),
                    rng.range(0, 999),
                    rng.range(0, 99)
                ),
                1 => format!("{},{:03} yen", rng.range(1, 99), rng.range(0, 999)),
                _ => format!("${}.99 a month", rng.range(5, 99)),
            };
            b.say(
                rng,
                AGENT,
                vec![
                    t(rng.pick(&["That comes to ", "The total is ", "With tax it's "])),
                    t(amount),
                    t("."),
                ],
            );
        }
        4 => {
            let when = date(rng, 2024, 2027);
            b.say(
                rng,
                AGENT,
                vec![
                    t(rng.pick(&[
                        "It should arrive on ",
                        "Your contract renews on ",
                        "We can send a technician on ",
                    ])),
                    t(when),
                    t("."),
                ],
            );
        }
        5 => {
            let (h, m) = (rng.range(8, 11), rng.pick(&["00", "15", "30", "45"]));
            b.say(
                rng,
                CUSTOMER,
                vec![t(format!(
                    "Could they come between {h}:{m} and {}:00, or after 3 pm?",
                    h + 2
                ))],
            );
        }
        6 => {
            b.say(
                rng,
                CUSTOMER,
                vec![t(format!(
                    "I ordered {} boxes of {} sheets, but only {} came.",
                    rng.range(2, 20),
                    rng.pick(&["250", "500", "1000"]),
                    rng.range(1, 9)
                ))],
            );
        }
        8 => {
            // Places that are not anyone's address.
            b.say(
                rng,
                AGENT,
                vec![t(rng.pick(&[
                    "Our Main Street branch is open until 6.",
                    "You can pick it up at the Oak Avenue store, Building 3.",
                    "Take Route 66 and it's the 5th Avenue exit.",
                    "We have 2 Maple Leaf models left in the Park Road warehouse.",
                ]))],
            );
        }
        _ => {
            let said = match rng.below(3) {
                0 => format!("model KX-{}", rng.range(1000, 9999)),
                1 => format!(
                    "part number {}-{}-{}",
                    rng.digits(4),
                    rng.digits(4),
                    rng.digits(2)
                ),
                _ => format!("barcode {}", numbers::barcode(rng)[0]),
            };
            b.say(
                rng,
                CUSTOMER,
                vec![
                    t("It's the "),
                    t(said),
                    t(rng.pick(&[
                        " in brown.",
                        " in white.",
                        ", the young people's edition.",
                        ".",
                    ])),
                ],
            );
        }
    }
}
