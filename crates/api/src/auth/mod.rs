//! Users, roles and HTTP Basic authentication.
//!
//! Passwords are stored only as argon2id PHC strings and checked by argon2 (constant time).
//! [`Authenticator`] checks a request's credentials: it remembers recent successes, bounds
//! how many hashes run at once, and slows down clients that keep sending wrong passwords
//! (`throttle`).

mod authenticator;
mod throttle;

pub use authenticator::Authenticator;

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHasher, SaltString};
use axum::http::HeaderMap;
use base64::Engine;

use crate::error::ApiError;
use crate::store::{AuditLog, UserRecord, UserStore};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Send telemetry and get upload links.
    Uploader,
    /// Browse and download.
    Reader,
    /// Everything, including user management.
    Admin,
}

impl Role {
    /// Parses `uploader`, `reader` or `admin`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "uploader" => Some(Role::Uploader),
            "reader" => Some(Role::Reader),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The stored name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Uploader => "uploader",
            Role::Reader => "reader",
            Role::Admin => "admin",
        }
    }
}

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Groups the user may touch; `None` means all (`*`).
    pub groups: Option<Vec<String>>,
}

impl User {
    /// True when the user may touch `group`.
    pub fn may_access(&self, group: &str) -> bool {
        self.groups
            .as_ref()
            .is_none_or(|groups| groups.iter().any(|g| g == group))
    }

    /// Checks that the user may upload to `group` (uploaders and admins).
    pub fn require_upload(&self, group: &str) -> Result<(), ApiError> {
        if !matches!(self.role, Role::Uploader | Role::Admin) {
            return Err(ApiError::Forbidden(format!(
                "user {} may not upload (role {})",
                self.name,
                self.role.as_str()
            )));
        }
        self.require_group(group)
    }

    /// Checks that the user may read `group` (readers and admins).
    pub fn require_read(&self, group: Option<&str>) -> Result<(), ApiError> {
        if !matches!(self.role, Role::Reader | Role::Admin) {
            return Err(ApiError::Forbidden(format!(
                "user {} may not browse (role {})",
                self.name,
                self.role.as_str()
            )));
        }
        group.map_or(Ok(()), |g| self.require_group(g))
    }

    /// Checks that the user is an admin (of `group`, when one is named).
    pub fn require_admin(&self, group: Option<&str>) -> Result<(), ApiError> {
        if self.role != Role::Admin {
            return Err(ApiError::Forbidden(format!(
                "user {} may not do this: admins only (role {})",
                self.name,
                self.role.as_str()
            )));
        }
        group.map_or(Ok(()), |g| self.require_group(g))
    }

    fn require_group(&self, group: &str) -> Result<(), ApiError> {
        if self.may_access(group) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "user {} has no access to group {group}",
                self.name
            )))
        }
    }
}

/// Parses a stored groups list (`*` or `a,b`).
pub(crate) fn parse_groups(text: &str) -> Option<Vec<String>> {
    if text.trim() == "*" {
        None
    } else {
        Some(
            text.split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A random password for the first admin: 24 characters from a URL-safe alphabet.
pub fn random_password() -> String {
    let mut bytes = [0u8; 18];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Builds the stored record of a new user, checking the role and groups.
pub fn new_user(
    name: &str,
    role: &str,
    groups: &str,
    password: &str,
) -> Result<UserRecord, String> {
    krkn_telemetry_model::keys::validate_segment(name, "user name").map_err(|e| e.to_string())?;
    let role = Role::parse(role)
        .ok_or_else(|| format!("unknown role {role:?}: use uploader, reader or admin"))?;
    if groups.trim() != "*" {
        for group in groups.split(',').map(str::trim).filter(|g| !g.is_empty()) {
            krkn_telemetry_model::keys::validate_segment(group, "group")
                .map_err(|e| e.to_string())?;
        }
    }
    if password.chars().count() < 8 {
        return Err("the password must have at least 8 characters".to_owned());
    }
    let password_hash =
        hash_password(password).map_err(|e| format!("cannot hash the password: {e}"))?;
    Ok(UserRecord {
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        groups: groups.trim().to_owned(),
        password_hash,
    })
}

/// What [`ensure_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// `admin` was set from the given password.
    SetFromEnvironment,
    /// The store had no users; `admin` was created with this random password (show it once).
    Generated(String),
    /// Users exist and no password was given, or `admin` already has the given one: nothing
    /// to do.
    Unchanged,
}

/// Makes sure someone can log in: `password` (from `KRKN_TELEMETRY_ADMIN_PASSWORD`; empty
/// counts as unset) creates or resets `admin` (left alone when it is already an admin of
/// every group with that password); otherwise, when `generate` is set and the store has no
/// users, `admin` gets a random password. What it changes goes to the audit log as done at
/// start-up.
pub async fn ensure_admin(
    users: &dyn UserStore,
    audit: &dyn AuditLog,
    password: Option<&str>,
    generate: bool,
) -> Result<AdminBootstrap, String> {
    let origin = crate::audit::Origin::start_up();
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        let before = users.get_user("admin").await.map_err(|e| e.to_string())?;
        if before.as_ref().is_some_and(|user| {
            user.role == "admin"
                && user.groups == "*"
                && authenticator::password_matches(password, &user.password_hash)
        }) {
            return Ok(AdminBootstrap::Unchanged);
        }
        let admin = new_user("admin", "admin", "*", password)?;
        users.put_user(&admin).await.map_err(|e| e.to_string())?;
        audit
            .record(&origin.user_saved(before.as_ref(), &admin))
            .await
            .map_err(|e| format!("admin set, but the audit log could not record it: {e}"))?;
        return Ok(AdminBootstrap::SetFromEnvironment);
    }
    if generate
        && users
            .list_users()
            .await
            .map_err(|e| e.to_string())?
            .is_empty()
    {
        let password = random_password();
        let admin = new_user("admin", "admin", "*", &password)?;
        users.put_user(&admin).await.map_err(|e| e.to_string())?;
        audit
            .record(&origin.user_saved(None, &admin))
            .await
            .map_err(|e| format!("admin created, but the audit log could not record it: {e}"))?;
        return Ok(AdminBootstrap::Generated(password));
    }
    Ok(AdminBootstrap::Unchanged)
}

/// The name and password of the request's HTTP Basic credentials.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated("send HTTP Basic credentials"))?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("malformed Authorization header"))?;
    let (scheme, encoded) = text
        .split_once(' ')
        .ok_or(ApiError::Unauthenticated("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::Unauthenticated(
            "only HTTP Basic authentication is supported",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| ApiError::Unauthenticated("malformed Basic credentials"))?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| ApiError::Unauthenticated("malformed Basic credentials"))?;
    let (name, password) = decoded
        .split_once(':')
        .ok_or(ApiError::Unauthenticated("malformed Basic credentials"))?;
    Ok((name.to_owned(), password.to_owned()))
}
