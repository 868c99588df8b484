//! Staging a batch's objects for one group commit: small contents into one
//! pack, larger ones through temporary files of their own.

use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use super::ContentStore;
use crate::ArtifactError;
use crate::crypto::Sealer;
use crate::objects::{self, Body, PACKED_MAX, PackWriter, RawId};

/// One object of a batch, staged by [`Batch::stage`]: written to its own
/// temporary file or appended to the batch's pack.
pub(crate) struct BatchStaged {
    body: Body,
    /// The content's id.
    pub(crate) id: String,
    /// The content's length in bytes.
    pub(crate) size: u64,
}

/// Objects staged together for one group commit
/// ([`ContentStore::commit_batch`]). Content of up to [`PACKED_MAX`] bytes
/// goes into one pack file for the whole batch (each distinct content
/// once), larger content into temporary files of its own.
pub(crate) struct Batch<'s> {
    content: &'s ContentStore,
    /// The pack, made when the first small object arrives.
    pack: Option<PackWriter>,
    /// The contents appended to the pack.
    packed: std::collections::HashSet<RawId>,
    /// The content being read, reused.
    buf: Vec<u8>,
    /// Its sealed form, when encrypted.
    sealed: Vec<u8>,
}

impl Batch<'_> {
    /// Reads everything `reader` yields and stages it: small content into
    /// the batch's pack, larger content streamed through a temporary file.
    pub(crate) fn stage(&mut self, mut reader: impl Read) -> Result<BatchStaged, ArtifactError> {
        self.buf.clear();
        (&mut reader)
            .take(PACKED_MAX as u64 + 1)
            .read_to_end(&mut self.buf)
            .map_err(ArtifactError::Input)?;
        if self.buf.len() > PACKED_MAX {
            let staged = self.content.stage_after(&self.buf, reader)?;
            return Ok(BatchStaged {
                body: Body::Temp(staged.temp),
                id: staged.id,
                size: staged.size,
            });
        }
        let raw: RawId = Sha256::digest(&self.buf).into();
        if self.packed.insert(raw) {
            let stored = match &self.content.key {
                Some(key) => {
                    self.sealed.clear();
                    let mut sealer =
                        Sealer::new(&mut self.sealed, key).map_err(ArtifactError::Input)?;
                    sealer.write_all(&self.buf).map_err(ArtifactError::Input)?;
                    sealer.finish().map_err(ArtifactError::Input)?;
                    &self.sealed
                }
                None => &self.buf,
            };
            let pack = match &mut self.pack {
                Some(pack) => pack,
                None => self.pack.insert(self.content.objects.create_pack()?),
            };
            pack.append(raw, stored)?;
        }
        Ok(BatchStaged {
            body: Body::Packed(raw),
            id: objects::hex(&raw),
            size: self.buf.len() as u64,
        })
    }
}

impl ContentStore {
    /// A batch to stage objects into for one group commit.
    pub(crate) fn batch(&self) -> Batch<'_> {
        Batch {
            content: self,
            pack: None,
            packed: Default::default(),
            buf: Vec::new(),
            sealed: Vec::new(),
        }
    }

    /// Commits a batch's staged objects with one group commit; per object,
    /// whether it was new.
    pub(crate) fn commit_batch(
        &self,
        batch: Batch<'_>,
        staged: Vec<BatchStaged>,
    ) -> Result<Vec<bool>, ArtifactError> {
        let ids: Vec<String> = staged.iter().map(|s| s.id.clone()).collect();
        let items = staged
            .into_iter()
            .zip(&ids)
            .map(|(s, id)| (s.body, id.as_str()))
            .collect();
        self.objects.commit_batch(items, batch.pack)
    }
}
