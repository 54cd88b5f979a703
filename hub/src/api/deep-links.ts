/**
 * The files that let the mobile apps claim the hub's URLs (OAuth redirects, shared links) and its sign-in
 * credentials: Android's Digital Asset Links and Apple's apple-app-site-association, both built from config.
 */
import { Type, type Static } from '@sinclair/typebox';

const PackageName = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)+$', description: 'Android application id, e.g. com.pulsebridge.app' });
const CertFingerprint = Type.String({
  pattern: '^([0-9A-F]{2}:){31}[0-9A-F]{2}$',
  description: 'SHA-256 of the signing certificate, upper-case hex pairs joined by colons (as `keytool -list -v` prints it)',
});
const AppleAppId = Type.String({ pattern: '^[A-Z0-9]{10}\\.[A-Za-z0-9.-]+$', description: 'Team id and bundle id, e.g. ABCDE12345.com.pulsebridge.app' });

export const DeepLinksConfig = Type.Object(
  {
    android: Type.Array(Type.Object({ packageName: PackageName, sha256CertFingerprints: Type.Array(CertFingerprint, { minItems: 1 }) }, { additionalProperties: false }), {
      default: [],
      description: 'Apps served /.well-known/assetlinks.json; none: that file answers 404',
    }),
    apple: Type.Optional(
      Type.Object(
        {
          appIds: Type.Array(AppleAppId, { minItems: 1 }),
          paths: Type.Array(Type.String({ pattern: '^/', description: 'A URL path pattern (* and ? wildcards), e.g. /app/*' }), {
            default: ['/oauth/callback', '/app/*'],
            description: 'Paths that open the app',
          }),
        },
        { additionalProperties: false, description: 'Served as /.well-known/apple-app-site-association; absent: that file answers 404' },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type DeepLinksConfig = Static<typeof DeepLinksConfig>;

export function deepLinksConfigProblems(config: DeepLinksConfig, path: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  config.android.forEach((app, index) => {
    if (seen.has(app.packageName)) problems.push(`${path}/android/${index}/packageName: ${app.packageName} is listed twice; give one entry all its fingerprints`);
    seen.add(app.packageName);
  });
  return problems;
}

const ASSET_LINK_RELATIONS = ['delegate_permission/common.handle_all_urls', 'delegate_permission/common.get_login_creds'];

export const AssetLinks = Type.Array(
  Type.Object({
    relation: Type.Array(Type.String()),
    target: Type.Object({ namespace: Type.Literal('android_app'), package_name: Type.String(), sha256_cert_fingerprints: Type.Array(Type.String()) }),
  }),
  { description: 'Digital Asset Links statements: the apps may open these URLs and share sign-in credentials' },
);

export const AppleAppSiteAssociation = Type.Object(
  {
    applinks: Type.Object({ details: Type.Array(Type.Object({ appIDs: Type.Array(Type.String()), components: Type.Array(Type.Record(Type.String(), Type.String())) })) }),
    webcredentials: Type.Object({ apps: Type.Array(Type.String()) }),
  },
  { description: 'Universal links and shared web credentials for the iOS apps' },
);

/** The Digital Asset Links statements, or undefined when no Android app is configured. */
export function assetLinks(config: DeepLinksConfig): Static<typeof AssetLinks> | undefined {
  if (config.android.length === 0) return undefined;
  return config.android.map((app) => ({
    relation: ASSET_LINK_RELATIONS,
    target: { namespace: 'android_app' as const, package_name: app.packageName, sha256_cert_fingerprints: app.sha256CertFingerprints },
  }));
}

/** The apple-app-site-association document, or undefined when no Apple app is configured. */
export function appleAppSiteAssociation(config: DeepLinksConfig): Static<typeof AppleAppSiteAssociation> | undefined {
  if (!config.apple) return undefined;
  const { appIds, paths } = config.apple;
  return {
    applinks: { details: [{ appIDs: appIds, components: paths.map((path) => ({ '/': path })) }] },
    webcredentials: { apps: appIds },
  };
}
