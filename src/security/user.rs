//! Users and groups from the container's own /etc/passwd and /etc/group.
//! berth is a static binary: it never asks NSS (getpwnam and friends), it
//! reads the files itself.

/// One /etc/passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// Parses passwd(5) text, skipping malformed lines.
pub fn parse_passwd(text: &str) -> Vec<Passwd> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(Passwd {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

/// The home directory of `uid` in `passwd` text, or "/" as runc uses.
pub fn home_of(passwd: &str, uid: u32) -> String {
    parse_passwd(passwd)
        .into_iter()
        .find(|p| p.uid == uid)
        .map(|p| p.home)
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_string())
}

/// The name of `uid` in the host's /etc/passwd, or the number as text. The
/// file is read once per process (`list` asks for every container).
pub fn host_user_name(uid: u32) -> String {
    static PASSWD: std::sync::OnceLock<Vec<Passwd>> = std::sync::OnceLock::new();
    PASSWD
        .get_or_init(|| parse_passwd(&crate::sys::read_file("/etc/passwd").unwrap_or_default()))
        .iter()
        .find(|p| p.uid == uid)
        .map(|p| p.name.clone())
        .unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nbare:x:1000:1000:::/bin/sh\n";

    #[test]
    fn passwd_lines_parse() {
        let p = parse_passwd(PASSWD);
        assert_eq!(p.len(), 3);
        assert_eq!(
            p[1],
            Passwd {
                name: "nobody".into(),
                uid: 65534,
                gid: 65534,
                home: "/nonexistent".into()
            }
        );
    }

    #[test]
    fn home_falls_back_to_root_dir() {
        assert_eq!(home_of(PASSWD, 0), "/root");
        assert_eq!(home_of(PASSWD, 1000), "/");
        assert_eq!(home_of(PASSWD, 4242), "/");
    }
}
