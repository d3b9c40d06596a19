//! Swedish-sounding names, school names and civic numbers for generated data.

use chrono::{Datelike, NaiveDate};

use super::rng::Rng;

const GIVEN_F: &[&str] = &[
    "Alice", "Maja", "Elsa", "Astrid", "Wilma", "Freja", "Olivia", "Selma", "Ebba", "Alma", "Vera",
    "Saga", "Ella", "Signe", "Agnes", "Stella", "Clara", "Ines", "Nora", "Ellen", "Julia",
    "Linnea", "Tilde", "Leah", "Amira", "Anna", "Karin", "Maria", "Sara", "Emma", "Lena", "Eva",
    "Johanna", "Sofia", "Fatima", "Elin",
];
const GIVEN_M: &[&str] = &[
    "Noah",
    "William",
    "Hugo",
    "Liam",
    "Lucas",
    "Oliver",
    "Elias",
    "Adam",
    "Alexander",
    "Vincent",
    "Matteo",
    "Ludvig",
    "Leo",
    "Theo",
    "Olle",
    "Nils",
    "Viktor",
    "Isak",
    "Sixten",
    "Otto",
    "Omar",
    "Ali",
    "Erik",
    "Lars",
    "Anders",
    "Johan",
    "Karl",
    "Per",
    "Mikael",
    "Henrik",
    "Jonas",
    "Fredrik",
    "Ahmed",
    "Daniel",
    "Mohammed",
    "Emil",
];
const FAMILY: &[&str] = &[
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Jönsson",
    "Lindberg",
    "Jakobsson",
    "Magnusson",
    "Olofsson",
    "Lindström",
    "Lindqvist",
    "Lindgren",
    "Berg",
    "Axelsson",
    "Bergström",
    "Lundberg",
    "Lind",
    "Lundgren",
    "Lundqvist",
    "Mattsson",
    "Berglund",
    "Fredriksson",
    "Sandberg",
    "Henriksson",
    "Ali",
    "Mohammed",
    "Forsberg",
    "Sjöberg",
    "Wallin",
    "Engström",
    "Eklund",
    "Danielsson",
    "Håkansson",
    "Lundin",
    "Björk",
    "Bergman",
    "Gunnarsson",
    "Holm",
    "Wikström",
    "Samuelsson",
    "Isaksson",
    "Fransson",
    "Bergqvist",
    "Nyström",
    "Holmberg",
    "Arvidsson",
    "Löfgren",
    "Söderberg",
    "Nyberg",
    "Blomqvist",
    "Claesson",
    "Nordström",
    "Hussein",
    "Åberg",
    "Öberg",
    "Yilmaz",
    "Nguyen",
    "Kovačević",
];
const SCHOOL_STEMS: &[&str] = &[
    "Ekbacken",
    "Björkhagen",
    "Lindhov",
    "Sjövik",
    "Tallbacken",
    "Rönnby",
    "Almvik",
    "Furuhöjden",
    "Granlunda",
    "Hagaberg",
    "Kvarnbacken",
    "Lövsta",
    "Mosshagen",
    "Näckrosen",
    "Oxhagen",
    "Parkskolan",
    "Rosendal",
    "Solbacken",
    "Strandhagen",
    "Tornby",
    "Ugglemossen",
    "Vallby",
    "Vikinga",
    "Åkerby",
    "Ängsdal",
    "Önnestad",
    "Bäckahagen",
    "Klockaregården",
    "Lärkan",
    "Mården",
];
const PROGRAMMES: &[&str] = &["NA", "SA", "TE", "EK", "ES", "BF", "EE", "VO"];
const LEAVE_REASONS: &[&str] = &[
    "Släktbesök utomlands",
    "Familjeresa",
    "Bröllop i familjen",
    "Idrottstävling",
    "Begravning",
];

pub fn person(rng: &mut Rng) -> (&'static str, &'static str, &'static str) {
    let sex = if rng.chance(0.5) { "F" } else { "M" };
    let (given, _, sex) = person_of_sex(rng, sex);
    (given, family(rng), sex)
}

pub fn person_of_sex(
    rng: &mut Rng,
    sex: &'static str,
) -> (&'static str, &'static str, &'static str) {
    let given = if sex == "F" {
        *rng.pick(GIVEN_F)
    } else {
        *rng.pick(GIVEN_M)
    };
    (given, "", sex)
}

pub fn family(rng: &mut Rng) -> &'static str {
    rng.pick::<&str>(FAMILY)
}

pub fn school(index: u32, form: &str) -> String {
    let stem = SCHOOL_STEMS[index as usize % SCHOOL_STEMS.len()];
    let round = index as usize / SCHOOL_STEMS.len();
    let base = match form {
        "gymnasieskola" => format!("{stem}gymnasiet"),
        "anpassad_grundskola" => format!("{stem}s anpassade grundskola"),
        _ if stem.ends_with("skolan") => stem.to_string(),
        _ => format!("{stem}s skola"),
    };
    if round == 0 {
        base
    } else {
        format!("{base} {}", round + 1)
    }
}

pub fn programme(class_index: u32) -> &'static str {
    PROGRAMMES[class_index as usize / 3 % PROGRAMMES.len()]
}

pub fn leave_reason(rng: &mut Rng) -> &'static str {
    rng.pick::<&str>(LEAVE_REASONS)
}

/// A lowercase ASCII form for user names and addresses (å, ä → a; ö → o).
pub fn ascii(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'å' | 'ä' | 'Å' | 'Ä' => Some('a'),
            'ö' | 'Ö' => Some('o'),
            'č' | 'ć' => Some('c'),
            'é' => Some('e'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// A personnummer-shaped number (YYYYMMDD-NNNC) with a valid Luhn check digit; the
/// second-to-last digit is odd for men and even for women, as in real ones.
pub fn civic_no(birth: NaiveDate, rng: &mut Rng, sex: &str) -> String {
    let serial = rng.below(100) as u32;
    let mut gender = rng.below(5) as u32 * 2;
    if sex == "M" {
        gender += 1;
    }
    let nine = format!(
        "{:02}{:02}{:02}{:02}{}",
        birth.year() % 100,
        birth.month(),
        birth.day(),
        serial,
        gender
    );
    let sum: u32 = nine
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32 * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    format!(
        "{:04}{}-{}{}",
        birth.year(),
        &nine[2..6],
        &nine[6..9],
        check
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civic_numbers_pass_luhn() {
        let mut rng = Rng::new(3);
        let birth = NaiveDate::from_ymd_opt(2015, 3, 9).unwrap();
        for _ in 0..50 {
            let c = civic_no(birth, &mut rng, "F");
            assert!(c.starts_with("20150309-"), "{c}");
            let digits: Vec<u32> = c[2..]
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| (b - b'0') as u32)
                .collect();
            let sum: u32 = digits
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let x = d * if i % 2 == 0 { 2 } else { 1 };
                    x / 10 + x % 10
                })
                .sum();
            assert_eq!(sum % 10, 0, "{c}");
            assert_eq!(digits[8] % 2, 0, "women have an even gender digit: {c}");
        }
    }

    #[test]
    fn ascii_names() {
        assert_eq!(ascii("Åsa Öberg"), "asaoberg");
        assert_eq!(school(0, "grundskola"), "Ekbackens skola");
        assert_eq!(school(1, "gymnasieskola"), "Björkhagengymnasiet");
    }
}
