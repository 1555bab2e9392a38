//! A fleet's departed subaccounts: closed or suspended since the state recorded their
//! resources.
//!
//! Twilio's API no longer answers for a closed subaccount (its credentials are refused, and its
//! resources go with it), so stowage can neither read nor delete what it made there, and need
//! not: nothing of it can store a recording any more. [`Departed`] answers for those accounts'
//! addresses as Twilio's API would for resources that are gone: a read finds nothing, a delete
//! succeeds, an interrupted create left nothing that can be reached; making or changing
//! anything there is an error. Every other address goes to the provider it wraps. The plan
//! then drops them from the state, while the member's IAM user and key in AWS, which would
//! still open the bucket, are deleted as for any subaccount that left the fleet.

use std::collections::BTreeSet;

use futures::future::BoxFuture;
use stowage_provider::{
    Applied, Contents, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, Observed, Provider, ProviderError,
    ReadRequest, UpdateRequest,
};

use crate::TwilioProvider;

/// [`TwilioProvider`], with the subaccounts in `accounts` gone.
#[derive(Debug)]
pub struct Departed {
    inner: TwilioProvider,
    accounts: BTreeSet<String>,
}

impl Departed {
    pub fn new(inner: TwilioProvider, accounts: impl IntoIterator<Item = String>) -> Self {
        Self { inner, accounts: accounts.into_iter().collect() }
    }

    fn departed(&self, key: Option<&String>) -> bool {
        key.is_some_and(|key| self.accounts.contains(key))
    }

    fn refused(address: &stowage_provider::Address) -> ProviderError {
        ProviderError::new(
            ErrorKind::Invalid,
            "twilio",
            "fleet",
            format!("{address}: its subaccount is closed or suspended; nothing can be made there"),
        )
    }
}

impl Provider for Departed {
    fn read<'a>(&'a self, request: ReadRequest<'a>) -> BoxFuture<'a, Result<Option<Observed>, ProviderError>> {
        if self.departed(request.address.key.as_ref()) {
            return Box::pin(async { Ok(None) });
        }
        self.inner.read(request)
    }

    fn create<'a>(&'a self, request: CreateRequest<'a>) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        if self.departed(request.address.key.as_ref()) {
            let error = Self::refused(request.address);
            return Box::pin(async move { Err(error) });
        }
        self.inner.create(request)
    }

    fn update<'a>(&'a self, request: UpdateRequest<'a>) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        if self.departed(request.address.key.as_ref()) {
            let error = Self::refused(request.address);
            return Box::pin(async move { Err(error) });
        }
        self.inner.update(request)
    }

    fn delete<'a>(&'a self, request: DeleteRequest<'a>) -> BoxFuture<'a, Result<(), ProviderError>> {
        if self.departed(request.address.key.as_ref()) {
            return Box::pin(async { Ok(()) });
        }
        self.inner.delete(request)
    }

    fn contents<'a>(&'a self, request: DeleteRequest<'a>) -> BoxFuture<'a, Result<Contents, ProviderError>> {
        if self.departed(request.address.key.as_ref()) {
            return Box::pin(async { Ok(Contents::default()) });
        }
        self.inner.contents(request)
    }

    fn find_leftovers<'a>(
        &'a self,
        request: LeftoverRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<Observed>, ProviderError>> {
        if self.departed(request.address.key.as_ref()) {
            return Box::pin(async { Ok(Vec::new()) });
        }
        self.inner.find_leftovers(request)
    }
}
