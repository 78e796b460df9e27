//! Access levels 1-6 (public, user, moderator, admin, owner, superadmin).
//! A token carries one; a package's `min_level` hides it from lower levels.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An access level from 1 (public) to 6 (superadmin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Level(u8);

impl Level {
    /// Level 1: anyone, without a token.
    pub const PUBLIC: Level = Level(1);
    /// Level 2: may publish and write to the hub.
    pub const USER: Level = Level(2);
    /// Level 3.
    pub const MODERATOR: Level = Level(3);
    /// Level 4: may yank and change package metadata.
    pub const ADMIN: Level = Level(4);
    /// Level 5: may read the audit log.
    pub const OWNER: Level = Level(5);
    /// Level 6: may manage tokens.
    pub const SUPERADMIN: Level = Level(6);

    /// The level `n`, if it is 1-6.
    pub fn new(n: u8) -> Option<Level> {
        (1..=6).contains(&n).then_some(Level(n))
    }

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The level's name.
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "public",
            2 => "user",
            3 => "moderator",
            4 => "admin",
            5 => "owner",
            _ => "superadmin",
        }
    }

    /// Parses `3` or `moderator`.
    pub fn parse(text: &str) -> Result<Level, String> {
        let text = text.trim();
        if let Ok(n) = text.parse::<u8>() {
            return Level::new(n).ok_or_else(|| format!("level `{text}` is not 1-6"));
        }
        (1..=6)
            .map(Level)
            .find(|l| l.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                format!(
                    "level `{text}` is not 1-6 or one of public, user, moderator, admin, owner, superadmin"
                )
            })
    }
}

impl TryFrom<u8> for Level {
    type Error = String;
    fn try_from(n: u8) -> Result<Level, String> {
        Level::new(n).ok_or_else(|| format!("level {n} is not 1-6"))
    }
}

impl From<Level> for u8 {
    fn from(level: Level) -> u8 {
        level.0
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_and_names() {
        assert_eq!(Level::parse("4"), Ok(Level::ADMIN));
        assert_eq!(Level::parse("Owner"), Ok(Level::OWNER));
        assert!(Level::parse("0").is_err());
        assert!(Level::parse("7").is_err());
        assert!(Level::parse("root").is_err());
        assert!(Level::USER < Level::ADMIN);
    }
}
