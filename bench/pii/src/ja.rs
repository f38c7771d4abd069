//! Japanese calls: the same scenes as the English ones, worded as a Japanese support line
//! and written down as a Japanese recogniser does (numerals, kanji or katakana digits).

use kiku_domain::pii::PiiKind;

use crate::call::{p, t, Builder, AGENT, CUSTOMER};
use crate::numbers;
use crate::read::read_out;
use crate::rng::Rng;
use crate::speak::{japanese_forms, say_groups, Form};

pub struct People {
    pub agent_last: &'static str,
    pub agent_first: &'static str,
    pub last: &'static str,
    pub first: &'static str,
}

const LAST: &[&str] = &[
    "山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤", "吉田", "松本",
];
const FIRST: &[&str] = &[
    "太郎",
    "花子",
    "一郎",
    "美咲",
    "健",
    "由美",
    "翔",
    "愛",
    "大輔",
    "さくら",
    "直樹",
    "陽子",
];
const FILLERS: &[&str] = &["えーと、", "で、", "あと", "えー"];

pub fn people(rng: &Rng) -> People {
    People {
        agent_last: rng.pick(LAST),
        agent_first: rng.pick(FIRST),
        last: rng.pick(LAST),
        first: rng.pick(FIRST),
    }
}

fn form(rng: &Rng) -> Form {
    rng.pick(japanese_forms())
}

pub fn opening(b: &mut Builder, rng: &Rng, who: &People) {
    let agent = b.entity(PiiKind::Name);
    b.say(
        rng,
        AGENT,
        vec![
            t("お電話ありがとうございます。北風商事の"),
            p(agent, who.agent_last),
            t("でございます。"),
        ],
    );
    let cust = b.entity(PiiKind::Name);
    match rng.below(2) {
        0 => b.say(
            rng,
            CUSTOMER,
            vec![
                t("もしもし、"),
                p(cust, who.last),
                t("と申しますが、注文の件でお電話しました。"),
            ],
        ),
        _ => b.say(
            rng,
            CUSTOMER,
            vec![
                t("あ、"),
                p(cust, format!("{}{}", who.last, who.first)),
                t("です。請求のことで聞きたいことがありまして。"),
            ],
        ),
    }
    let cust2 = b.entity(PiiKind::Name);
    b.say(
        rng,
        AGENT,
        vec![p(cust2, who.last), t("様ですね。確認いたします。")],
    );
}

pub fn closing(b: &mut Builder, rng: &Rng, who: &People) {
    let n = b.entity(PiiKind::Name);
    b.say(
        rng,
        AGENT,
        vec![
            t("ほかにご不明な点はございますか、"),
            p(n, who.last),
            t("様。"),
        ],
    );
    b.say(
        rng,
        CUSTOMER,
        vec![t("いえ、大丈夫です。ありがとうございました。")],
    );
    b.say(rng, AGENT, vec![t("失礼いたします。")]);
}

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

const PLACES: &[(&str, &str, &[&str])] = &[
    ("東京都", "世田谷区", &["桜丘", "三軒茶屋", "北沢"]),
    ("東京都", "品川区", &["大井", "西五反田"]),
    ("神奈川県", "横浜市中区", &["山下町", "本町"]),
    ("大阪府", "大阪市北区", &["梅田", "中之島"]),
    ("愛知県", "名古屋市中村区", &["名駅", "椿町"]),
    ("福岡県", "福岡市博多区", &["博多駅前", "祇園町"]),
    ("北海道", "札幌市中央区", &["北一条西", "大通西"]),
];

/// A Japanese address as a transcript writes it: the prefecture (or not), the city and
/// ward, the town and the block numbers in one of the usual ways.
fn japanese_address(rng: &Rng) -> String {
    let (prefecture, city, towns) = rng.pick(PLACES);
    let town = rng.pick(towns);
    let (a, b, c) = (rng.range(1, 9), rng.range(1, 30), rng.range(1, 20));
    let kanji = |n: usize| {
        const DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
        match n {
            0..=9 => DIGITS[n].to_string(),
            10 => "十".into(),
            _ => format!(
                "{}十{}",
                if n >= 20 { DIGITS[n / 10] } else { "" },
                DIGITS[n % 10]
            ),
        }
    };
    let blocks = match rng.below(4) {
        0 => format!("{a}丁目{b}番{c}号"),
        1 => format!("{a}-{b}-{c}"),
        2 => format!("{}丁目{}番地", kanji(a), kanji(b)),
        _ => format!("{a}丁目{b}-{c}"),
    };
    let prefecture = if rng.chance(0.6) { prefecture } else { "" };
    format!("{prefecture}{city}{town}{blocks}")
}

fn address(b: &mut Builder, rng: &Rng) {
    let e = b.entity(PiiKind::Address);
    b.say(
        rng,
        AGENT,
        vec![t(rng.pick(&[
            "ご住所をお願いいたします。",
            "お届け先のご住所を伺えますか。",
            "ご登録のご住所を確認させてください。",
        ]))],
    );
    b.say(
        rng,
        CUSTOMER,
        vec![
            t(rng.pick(&["はい、", "えーと、", "", "住所は"])),
            p(e, japanese_address(rng)),
            t(rng.pick(&["です。", "になります。", "のマンションです。"])),
        ],
    );
}

fn card(b: &mut Builder, rng: &Rng) {
    let groups = numbers::misheard(rng, numbers::card(rng));
    let e = b.entity(PiiKind::CardNumber);
    if rng.chance(0.25) {
        read_out(
            b,
            rng,
            CUSTOMER,
            "じゃあこれで払います、",
            e,
            &groups,
            form(rng),
            "でお願いします。",
            FILLERS,
        );
    } else {
        b.say(
            rng,
            AGENT,
            vec![t(rng.pick(&[
                "カード番号をお願いいたします。",
                "お手元のカードの表面の番号をお願いします。",
                "16桁の番号をお読みいただけますか。",
            ]))],
        );
        read_out(
            b,
            rng,
            CUSTOMER,
            rng.pick(&["はい、", "えーと、", ""]),
            e,
            &groups,
            form(rng),
            rng.pick(&["です。", "。", "です"]),
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
                t("復唱いたします。"),
                p(back, said),
                t("でよろしいでしょうか。"),
            ],
        );
        b.say(rng, CUSTOMER, vec![t("はい。")]);
    }
}

fn phone(b: &mut Builder, rng: &Rng) {
    let international = rng.chance(0.2);
    let groups = if international {
        numbers::international_phone(rng)
    } else {
        numbers::japanese_phone(rng)
    };
    let f = form(rng);
    let e = b.entity(PiiKind::PhoneNumber);
    let lead = if international {
        rng.pick(&["+", "プラス"])
    } else {
        ""
    };
    if rng.chance(0.25) {
        let before = format!(
            "{}{lead}",
            rng.pick(&["折り返しは", "日中は", "何かあれば"])
        );
        read_out(
            b,
            rng,
            CUSTOMER,
            &before,
            e,
            &groups,
            f,
            "にお願いします。",
            FILLERS,
        );
    } else {
        b.say(
            rng,
            AGENT,
            vec![t(rng.pick(&[
                "ご連絡先のお電話番号をお願いいたします。",
                "日中つながるお電話番号を伺えますか。",
                "携帯の番号をお願いします。",
            ]))],
        );
        let before = format!("{}{lead}", rng.pick(&["はい、", "", "携帯で、"]));
        read_out(b, rng, CUSTOMER, &before, e, &groups, f, "です。", FILLERS);
    }
    if lead.is_empty() && rng.chance(0.3) {
        let back = b.entity(PiiKind::PhoneNumber);
        let said = say_groups(rng, &groups, form(rng));
        b.say(rng, AGENT, vec![p(back, said), t("ですね。")]);
        b.say(rng, CUSTOMER, vec![t("はい、そうです。")]);
    }
}

fn my_number(b: &mut Builder, rng: &Rng) {
    let groups = numbers::misheard(rng, numbers::my_number(rng));
    let e = b.entity(PiiKind::MyNumber);
    b.say(
        rng,
        AGENT,
        vec![t(rng.pick(&[
            "マイナンバーの12桁をお願いいたします。",
            "個人番号をお読みいただけますか。",
            "源泉徴収票のため、番号カードの12桁の番号をお願いします。",
        ]))],
    );
    read_out(
        b,
        rng,
        CUSTOMER,
        rng.pick(&["はい、", "えーと、", ""]),
        e,
        &groups,
        form(rng),
        "です。",
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
            "お届け先の郵便番号をお願いします。",
            "ご住所を郵便番号からお願いします。",
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
        vec![t(rng.pick(&["はい、", "〒", ""])), p(e, said), t("です。")],
    );
}

fn email(b: &mut Builder, rng: &Rng, who: &People) {
    let e = b.entity(PiiKind::Email);
    let local = format!(
        "{}{}",
        rng.pick(&["yamada", "sato", "k.suzuki", "hana_t", "tanaka"]),
        if rng.chance(0.4) {
            rng.range(1, 99).to_string()
        } else {
            String::new()
        }
    );
    let domain = rng.pick(&["gmail.com", "example.co.jp", "docomo.ne.jp", "yahoo.co.jp"]);
    let _ = who;
    b.say(
        rng,
        AGENT,
        vec![t(rng.pick(&[
            "控えをお送りするメールアドレスをお願いします。",
            "メールアドレスを伺えますか。",
        ]))],
    );
    let said = if rng.chance(0.5) {
        format!("{local}@{domain}")
    } else {
        format!(
            "{} アットマーク {}",
            local
                .replace('.', " ドット ")
                .replace('_', " アンダーバー "),
            domain.replace('.', " ドット ")
        )
    };
    b.say(
        rng,
        CUSTOMER,
        vec![
            t(rng.pick(&["はい、", "", "えーと、"])),
            p(e, said),
            t("です。"),
        ],
    );
}

fn date(rng: &Rng, from_year: usize, to_year: usize) -> String {
    let (y, m, d) = (
        rng.range(from_year, to_year),
        rng.range(1, 12),
        rng.range(1, 28),
    );
    match rng.below(3) {
        0 => format!("{y}年{m}月{d}日"),
        1 if (1927..1989).contains(&y) => format!("昭和{}年{m}月{d}日", y - 1925),
        1 if (1989..2019).contains(&y) => format!("平成{}年{m}月{d}日", y - 1988),
        _ => format!("{y}年{m}月{d}日"),
    }
}

fn birth(b: &mut Builder, rng: &Rng) {
    let e = b.entity(PiiKind::DateOfBirth);
    let when = date(rng, 1940, 2005);
    if rng.chance(0.3) {
        b.say(
            rng,
            CUSTOMER,
            vec![t("私、"), p(e, when), t("生まれです。")],
        );
    } else {
        b.say(
            rng,
            AGENT,
            vec![t(rng.pick(&[
                "ご本人確認のため、生年月日をお願いいたします。",
                "お誕生日を伺えますか。",
            ]))],
        );
        b.say(
            rng,
            CUSTOMER,
            vec![
                t(rng.pick(&["はい、", "", "えー、"])),
                p(e, when),
                t("です。"),
            ],
        );
    }
}

pub fn negative(b: &mut Builder, rng: &Rng, scene: usize) {
    match scene {
        0 => {
            let g = numbers::order_number(rng);
            let said = say_groups(rng, &g, form(rng));
            b.say(
                rng,
                CUSTOMER,
                vec![
                    t(rng.pick(&["注文番号は", "ご注文の番号が", "注文が"])),
                    t(said),
                    t("です。"),
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
                    t("本日発送しております。お問い合わせ伝票番号は"),
                    t(said),
                    t("です。"),
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
                    t(rng.pick(&["会員番号は", "お客様番号が"])),
                    t(said),
                    t("です。"),
                ],
            );
        }
        3 => {
            let amount = match rng.below(3) {
                0 => format!("{},{:03}円", rng.range(1, 99), rng.range(0, 999)),
                1 => format!("{}万{}千円", rng.range(1, 9), rng.range(1, 9)),
                _ => format!("月額{}円", rng.range(500, 9999)),
            };
            b.say(
                rng,
                AGENT,
                vec![
                    t(rng.pick(&["合計で", "税込みで", "お支払いは"])),
                    t(amount),
                    t("になります。"),
                ],
            );
        }
        4 => {
            let when = date(rng, 2024, 2027);
            b.say(
                rng,
                AGENT,
                vec![
                    t(rng.pick(&["お届けは", "契約の更新日は", "作業日は"])),
                    t(when),
                    t("になります。"),
                ],
            );
        }
        5 => {
            let h = rng.range(1, 5);
            b.say(
                rng,
                CUSTOMER,
                vec![t(format!(
                    "午後{h}時{}分から{}時の間でお願いできますか。",
                    rng.pick(&["00", "30"]),
                    h + 2
                ))],
            );
        }
        6 => {
            b.say(
                rng,
                CUSTOMER,
                vec![t(format!(
                    "{}箱頼んだんですけど、{}個しか届いていなくて。",
                    rng.range(2, 20),
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
                    "渋谷店は3階にございます。",
                    "品川区の倉庫から2番目の便で発送いたします。",
                    "3丁目の交差点の角の店舗でお受け取りいただけます。",
                    "新宿区役所前の窓口は5番です。",
                ]))],
            );
        }
        _ => {
            let said = match rng.below(3) {
                0 => format!("型番KX-{}", rng.range(1000, 9999)),
                1 => format!("品番{}-{}-{}", rng.digits(4), rng.digits(4), rng.digits(2)),
                _ => format!("JANコード{}", numbers::barcode(rng)[0]),
            };
            b.say(rng, CUSTOMER, vec![t("商品は"), t(said), t("のものです。")]);
        }
    }
}
