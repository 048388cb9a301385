//! The block list a lock writes: LLM provider hosts pointed at 0.0.0.0 (and `::`), in
//! `/etc/hosts` format, inside a marked section so the file may be `/etc/hosts` itself.
//! The file is replaced atomically (temporary file in the same directory, then rename).

use std::io::Write;
use std::path::Path;

use custody_verifier::command::LockCommand;

/// The first line of the section the agent owns.
pub const BEGIN_MARKER: &str = "# BEGIN custody lock";
/// The last line of that section.
pub const END_MARKER: &str = "# END custody lock";

/// Hosts of LLM products and APIs, blocked by exact name.
pub const BLOCKED_HOSTS: &[&str] = &[
    "api.openai.com",
    "chat.openai.com",
    "chatgpt.com",
    "www.chatgpt.com",
    "platform.openai.com",
    "api.anthropic.com",
    "console.anthropic.com",
    "claude.ai",
    "www.claude.ai",
    "gemini.google.com",
    "aistudio.google.com",
    "generativelanguage.googleapis.com",
    "copilot.microsoft.com",
    "api.mistral.ai",
    "chat.mistral.ai",
    "api.cohere.com",
    "api.cohere.ai",
    "api.groq.com",
    "api.together.xyz",
    "api.perplexity.ai",
    "www.perplexity.ai",
    "perplexity.ai",
    "api.deepseek.com",
    "chat.deepseek.com",
    "api.x.ai",
    "grok.com",
    "openrouter.ai",
];

/// Domains whose every subdomain is an LLM endpoint. A hosts file cannot match
/// subdomains, so these are written as comments for DNS- or proxy-level enforcement.
pub const BLOCKED_DOMAINS: &[&str] = &["*.openai.azure.com", "*.services.ai.azure.com"];

/// `existing` with the custody section replaced by one for `command` (appended when absent).
pub fn render(existing: &str, command: &LockCommand) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in existing.lines() {
        match line.trim() {
            BEGIN_MARKER => inside = true,
            END_MARKER => inside = false,
            _ if !inside => {
                out.push_str(line);
                out.push('\n');
            }
            _ => {}
        }
    }
    out.push_str(BEGIN_MARKER);
    out.push('\n');
    out.push_str(&format!(
        "# locked by command {} (case {}, subject {}, issued {})\n",
        sanitize(&command.command_id),
        sanitize(&command.case_id),
        sanitize(&command.subject),
        command.issued_at
    ));
    for host in BLOCKED_HOSTS {
        out.push_str(&format!("0.0.0.0 {host}\n:: {host}\n"));
    }
    for domain in BLOCKED_DOMAINS {
        out.push_str(&format!("# {domain} (block at DNS or proxy level)\n"));
    }
    out.push_str(END_MARKER);
    out.push('\n');
    out
}

/// Identifiers from a verified command are free text without control characters; keep
/// them on one comment line anyway.
fn sanitize(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// Writes the section for `command` into `path`, keeping the rest of the file.
pub fn apply(path: &Path, command: &LockCommand) -> std::io::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    write_atomically(path, render(&existing, command).as_bytes())
}

/// Replaces `path` with `bytes`: temporary file beside it, fsync, rename, fsync of the
/// directory. Readers see the old or the new file, never a partial one. A new file is
/// world-readable (as `/etc/hosts` must be); an existing file keeps its permissions.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    match std::fs::metadata(path) {
        Ok(meta) => temp.as_file().set_permissions(meta.permissions())?,
        #[cfg(unix)]
        Err(_) => temp
            .as_file()
            .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?,
        #[cfg(not(unix))]
        Err(_) => {}
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use custody_verifier::time::UtcTime;

    use super::*;

    fn command(id: &str) -> LockCommand {
        LockCommand {
            command_id: id.into(),
            org: "acme".into(),
            device_id: "dev_1".into(),
            subject: "emp-7".into(),
            action: "lock".into(),
            issued_at: UtcTime::EPOCH,
            expires_at: UtcTime::EPOCH,
            nonce: [0; 16],
            case_id: "case-9".into(),
        }
    }

    #[test]
    fn the_section_is_added_once_and_replaced_keeping_other_lines() {
        let hosts = "127.0.0.1 localhost\n::1 localhost\n";
        let first = render(hosts, &command("cmd_1"));
        assert!(first.starts_with(hosts));
        assert!(first.contains("\n0.0.0.0 api.openai.com\n"));
        assert!(first.contains("\n0.0.0.0 claude.ai\n"));
        assert!(first.contains("# *.openai.azure.com"));
        let second = render(&first, &command("cmd_2"));
        assert_eq!(second.matches(BEGIN_MARKER).count(), 1);
        assert!(second.contains("cmd_2") && !second.contains("cmd_1"));
        assert!(second.starts_with(hosts));
    }

    #[test]
    fn apply_writes_atomically_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        apply(&path, &command("cmd_1")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("0.0.0.0 chatgpt.com"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        // Nothing but the file is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
