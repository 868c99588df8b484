//! WASI refusals that wasmtime-wasi makes without a word, made audited.
//!
//! - **Files no `fs` grant covers.** Without a preopened directory, a
//!   guest's `open("/etc/passwd")` fails inside its own libc and the host
//!   never hears of it. So every instance without a grant at `/` gets an
//!   empty, read-only directory preopened there (see
//!   [`Grants::wasi_ctx`](crate::Grants)): paths outside its grants resolve
//!   to it, and opening anything through it is refused here, audited as
//!   `fs:read:/etc/passwd` (or `fs:read-write:…`), and answered `access`.
//!   A write refused in a read-only grant is audited the same way.
//! - **Names no `net` grant names.** Name lookups pass only for hosts a
//!   `net` grant names; others are audited as `net:<name>:*` and answered
//!   `access-denied`.
//!
//! Sockets, HTTP and the host's own imports audit their refusals where they
//! check (`Grants::wasi_ctx`, `http`, `host_api`).

use std::collections::HashMap;

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::Network;
use wasmtime_wasi::p2::bindings::filesystem::{preopens, types};
use wasmtime_wasi::p2::bindings::sockets::{ip_name_lookup, network};
use wasmtime_wasi::sockets::WasiSocketsView;

use super::store_data::StoreState;
use symphony_manifest::FsAccess;

use super::WASI;

/// The guest path of every preopened directory an instance was handed, by
/// descriptor handle.
#[derive(Default)]
pub(crate) struct Preopens(HashMap<u32, String>);

/// Shadows wasmtime-wasi's preopens, file opening, directory creation and
/// name lookup with the auditing wrappers. Call after WASI is in `linker`,
/// with shadowing allowed.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    let mut preopen = linker.instance(&format!("wasi:filesystem/preopens@{WASI}"))?;
    preopen.func_wrap("get-directories", |mut store, (): ()| {
        let state = store.data_mut();
        let dirs = preopens::Host::get_directories(&mut state.filesystem())?;
        for (descriptor, guest) in &dirs {
            state.preopens.0.insert(descriptor.rep(), guest.clone());
        }
        Ok((dirs,))
    })?;

    let mut fs = linker.instance(&format!("wasi:filesystem/types@{WASI}"))?;
    fs.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store,
         (dir, path_flags, path, open_flags, flags): (
            Resource<types::Descriptor>,
            types::PathFlags,
            String,
            types::OpenFlags,
            types::DescriptorFlags,
        )| {
            Box::new(async move {
                let state = store.data_mut();
                let writes = flags.contains(types::DescriptorFlags::WRITE)
                    || open_flags.intersects(types::OpenFlags::CREATE | types::OpenFlags::TRUNCATE);
                let access = if writes {
                    FsAccess::ReadWrite
                } else {
                    FsAccess::Read
                };
                let what = |full: &str| match access {
                    FsAccess::Read => format!("open {full} for reading"),
                    FsAccess::ReadWrite => format!("open {full} for writing"),
                };
                if let Some(full) = state.outside_grants(&dir, &path) {
                    state.refuse_fs(access, &full, &what(&full));
                    return Ok((Err(types::ErrorCode::Access),));
                }
                let refused = state.granted_path(&dir, &path);
                let mut view = state.filesystem();
                let opened = types::HostDescriptor::open_at(
                    &mut view, dir, path_flags, path, open_flags, flags,
                )
                .await;
                let opened = match opened {
                    Ok(descriptor) => Ok(descriptor),
                    Err(e) => Err(types::Host::convert_error_code(&mut view, e)?),
                };
                if let (Err(code), Some(full)) = (&opened, refused)
                    && is_refusal(*code)
                {
                    state.refuse_fs(access, &full, &what(&full));
                }
                Ok((opened,))
            })
        },
    )?;
    fs.func_wrap_async(
        "[method]descriptor.create-directory-at",
        |mut store, (dir, path): (Resource<types::Descriptor>, String)| {
            Box::new(async move {
                let state = store.data_mut();
                if let Some(full) = state.outside_grants(&dir, &path) {
                    let what = format!("create directory {full}");
                    state.refuse_fs(FsAccess::ReadWrite, &full, &what);
                    return Ok((Err(types::ErrorCode::Access),));
                }
                let refused = state.granted_path(&dir, &path);
                let mut view = state.filesystem();
                let created =
                    types::HostDescriptor::create_directory_at(&mut view, dir, path).await;
                let created = match created {
                    Ok(()) => Ok(()),
                    Err(e) => Err(types::Host::convert_error_code(&mut view, e)?),
                };
                if let (Err(code), Some(full)) = (&created, refused)
                    && is_refusal(*code)
                {
                    let what = format!("create directory {full}");
                    state.refuse_fs(FsAccess::ReadWrite, &full, &what);
                }
                Ok((created,))
            })
        },
    )?;

    let mut lookup = linker.instance(&format!("wasi:sockets/ip-name-lookup@{WASI}"))?;
    lookup.func_wrap(
        "resolve-addresses",
        |mut store, (net, name): (Resource<Network>, String)| {
            let state = store.data_mut();
            if !state.ext.grants.may_resolve(&name) {
                state.ext.audit_denial(
                    format!("net:{name}:*"),
                    format!("look up the name {name} refused: no net grant names it"),
                );
                return Ok((Err(network::ErrorCode::AccessDenied),));
            }
            let mut view = state.sockets();
            let found = match ip_name_lookup::Host::resolve_addresses(&mut view, net, name) {
                Ok(stream) => Ok(stream),
                Err(e) => Err(network::Host::convert_error_code(&mut view, e)?),
            };
            Ok((found,))
        },
    )?;
    Ok(())
}

/// Whether a filesystem error is a refusal (as opposed to, say, a file
/// that does not exist).
fn is_refusal(code: types::ErrorCode) -> bool {
    matches!(
        code,
        types::ErrorCode::Access | types::ErrorCode::NotPermitted | types::ErrorCode::ReadOnly
    )
}

impl StoreState {
    /// The guest path `path` names through the preopen `dir`, when `dir`
    /// is the empty root standing in for everything no grant covers.
    fn outside_grants(&self, dir: &Resource<types::Descriptor>, path: &str) -> Option<String> {
        let guest = self.preopens.0.get(&dir.rep())?;
        let granted_root = self.ext.grants.dirs().iter().any(|d| d.guest == "/");
        (guest == "/" && !granted_root).then(|| join(guest, path))
    }

    /// The guest path `path` names through the granted preopen `dir`, for
    /// auditing a refusal there (a write to a read-only grant, a path
    /// escaping it).
    fn granted_path(&self, dir: &Resource<types::Descriptor>, path: &str) -> Option<String> {
        self.preopens
            .0
            .get(&dir.rep())
            .map(|guest| join(guest, path))
    }

    fn refuse_fs(&self, access: FsAccess, full: &str, what: &str) {
        let access = match access {
            FsAccess::Read => "read",
            FsAccess::ReadWrite => "read-write",
        };
        self.ext.audit_denial(
            format!("fs:{access}:{full}"),
            format!("{what} refused: no fs grant allows it"),
        );
    }
}

/// `dir` and `path` joined as the guest sees them: `/` and `etc/passwd`
/// make `/etc/passwd`.
fn join(dir: &str, path: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{path}")
    } else {
        format!("{dir}/{path}")
    }
}

#[cfg(test)]
mod tests;
