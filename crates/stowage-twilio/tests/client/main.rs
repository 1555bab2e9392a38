//! The Twilio client against loopback fakes: credentials and endpoints checked before any
//! request, what goes over the wire, errors, retries, timeouts and paging; and the reads of
//! `stowage alerts`.

mod alerts;
mod auth;
mod endpoints;
mod errors;
mod fake;
mod pagination;
mod requests;
mod retries;
mod subaccounts;
