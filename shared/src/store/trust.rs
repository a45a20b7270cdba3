//! Which certificate authorities the DynamoDB client trusts.
//!
//! The SDK's default HTTPS client reads the whole system trust store when it first builds its
//! connector: the CA bundle and every file of the system certificate folder, ~145 certificates
//! parsed on every cold start, to reach one host. AWS service endpoints, DynamoDB's among them,
//! chain to the Amazon Trust Services roots (Amazon Root CA 1–4, and Starfield Services Root
//! G2, which cross-signs them), so the client trusts those five only: they are compiled in and
//! nothing is read from disk. Which store applies is `config::TrustStore::choose`'s rule (an
//! `https://` endpoint of one's own keeps the system's; `DYNAMODB_TRUST_STORE` overrides). The
//! JWKS client (`auth/jwks.rs`) always uses the system's roots: an identity provider's host can
//! be anywhere.

use crate::config::TrustStore;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The Amazon Trust Services roots, PEM.
pub const AMAZON_ROOTS: &[u8] = include_bytes!("../../certs/amazon-trust-services.pem");

/// The SDK's default HTTPS client (rustls with aws-lc, the proxy settings of the environment),
/// trusting `store`; `None` for the system's, where the SDK's own default is that client.
pub fn http_client(store: TrustStore) -> Option<SharedHttpClient> {
    if store == TrustStore::System {
        return None;
    }
    let context = match TlsContext::builder()
        .with_trust_store(tls::TrustStore::empty().with_pem_certificate(AMAZON_ROOTS))
        .build()
    {
        Ok(context) => context,
        Err(error) => {
            // Never seen (the builder only stores the PEM); the system's store still works.
            tracing::warn!(%error, "Amazon roots not usable; the DynamoDB client trusts the system's store");
            return None;
        }
    };
    Some(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut connector = ConnectorBuilder::default()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(context.clone());
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    #[test]
    fn the_amazon_roots_are_five_parsable_certificates() {
        let certs = CertificateDer::pem_slice_iter(AMAZON_ROOTS)
            .collect::<Result<Vec<_>, _>>()
            .expect("PEM");
        assert_eq!(certs.len(), 5);
        let mut store = rustls::RootCertStore::empty();
        let (added, ignored) = store.add_parsable_certificates(certs);
        assert_eq!((added, ignored), (5, 0));
    }

    #[test]
    fn the_system_store_is_the_sdks_own_default_client() {
        assert!(http_client(TrustStore::System).is_none());
        assert!(http_client(TrustStore::Amazon).is_some());
    }
}
