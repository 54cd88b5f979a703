/**
 * deploy/kubernetes: `kubectl kustomize` renders every overlay (offline), and the objects hold together: the
 * probes ask the hub's real health paths on its real port, the PodDisruptionBudget, HPA, Service and
 * NetworkPolicy select or target the Deployment, pods run as non-root with resources set, secrets come only by
 * reference, the grace period covers the hub's own stop, and the hub's config loader accepts the ConfigMap.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { OPERATIONS } from '../../hub/src/api/operations.ts';
import { missingService } from '../services.ts';
import { loadAccepted, type HubSettings } from './hub-settings.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KUSTOMIZE = join(ROOT, 'deploy/kubernetes');
const OVERLAYS = readdirSync(join(KUSTOMIZE, 'overlays'));
const noKubectl = missingService(spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error ? 'kubectl is not installed (Debian: kubernetes-client)' : false);

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered Kubernetes objects: checked field by field below */
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> };

const rendered = new Map<string, K8sObject[]>();
function render(overlay: string): K8sObject[] {
  if (!rendered.has(overlay)) {
    const result = spawnSync('kubectl', ['kustomize', join(KUSTOMIZE, 'overlays', overlay)], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    rendered.set(
      overlay,
      parseAllDocuments(result.stdout).map((doc) => doc.toJS() as K8sObject),
    );
  }
  return rendered.get(overlay)!;
}
const one = (objects: K8sObject[], kind: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);

const brokerStopMs = Number(/stopTimeoutMs \?\? ([\d_]+)/.exec(readFileSync(join(ROOT, 'hub/src/broker/external-broker.ts'), 'utf8'))![1]!.replaceAll('_', ''));

/** The hub's settings as a pod sees them: the ConfigMap's hub.yaml, and its env with secrets stood in for. */
function podSettings(objects: K8sObject[]): HubSettings {
  const container = one(objects, 'Deployment').spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const variable of container.env as { name: string; value?: string; valueFrom?: unknown }[]) {
    env[variable.name] = variable.value?.replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? '') ?? `stand-in-for-${variable.name}`;
  }
  const configMap = one(objects, 'ConfigMap');
  delete env['PB_HUB_CONFIG'];
  return { file: parse(configMap.data!['hub.yaml']!) as Record<string, unknown>, env };
}

for (const overlay of OVERLAYS) {
  test(`${overlay}: renders with a Deployment, Service, Ingress, PodDisruptionBudget, NetworkPolicy and ConfigMap, and no Secret`, { skip: noKubectl }, () => {
    const objects = render(overlay);
    for (const kind of ['Deployment', 'Service', 'Ingress', 'PodDisruptionBudget', 'NetworkPolicy', 'ConfigMap', 'ServiceAccount']) one(objects, kind);
    assert.ok(!objects.some((o) => o.kind === 'Secret'), 'secrets come from their operators or External Secrets, by name');
    const namespaces = new Set(objects.map((o) => o.metadata.namespace));
    assert.equal(namespaces.size, 1, `one namespace: ${[...namespaces].join(', ')}`);
  });

  test(`${overlay}: probes ask the hub's real /healthz and /readyz on the container port the hub listens on`, { skip: noKubectl }, () => {
    const objects = render(overlay);
    const container = one(objects, 'Deployment').spec.template.spec.containers[0];
    const port = (name: string | number): number => (typeof name === 'number' ? name : container.ports.find((p: { name: string }) => p.name === name).containerPort);
    const httpPort = loadAccepted(podSettings(objects)).http.port;
    assert.equal(container.readinessProbe.httpGet.path, OPERATIONS.readyz.path);
    assert.equal(container.livenessProbe.httpGet.path, OPERATIONS.healthz.path);
    assert.equal(container.startupProbe.httpGet.path, OPERATIONS.healthz.path);
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) assert.equal(port(container[probe].httpGet.port), httpPort, probe);
    const service = one(objects, 'Service');
    assert.equal(port(service.spec.ports[0].targetPort), httpPort);
    const backend = one(objects, 'Ingress').spec.rules[0].http.paths[0].backend.service;
    assert.equal(backend.name, service.metadata.name);
    assert.ok(
      service.spec.ports.some((p: { name: string }) => p.name === backend.port.name),
      'the Ingress names a Service port',
    );
  });

  test(`${overlay}: the pod runs as non-root with a read-only root, no capability, and resources set`, { skip: noKubectl }, () => {
    const pod = one(render(overlay), 'Deployment').spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.notEqual(pod.securityContext.runAsUser, 0);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(pod.automountServiceAccountToken, false);
    for (const container of pod.containers) {
      assert.equal(container.securityContext.allowPrivilegeEscalation, false);
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
      assert.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory, `${container.name} resources`);
      assert.match(container.image, /^registry\.[^/]+\/pulsebridge-hub:.+/, 'the overlay names the image');
    }
  });

  test(`${overlay}: the PodDisruptionBudget, HPA, Service and NetworkPolicy all point at the Deployment's pods`, { skip: noKubectl }, () => {
    const objects = render(overlay);
    const deployment = one(objects, 'Deployment');
    const labels = deployment.spec.template.metadata.labels as Record<string, string>;
    assert.ok(matches(deployment.spec.selector.matchLabels, labels));
    assert.ok(matches(one(objects, 'PodDisruptionBudget').spec.selector.matchLabels, labels), 'PodDisruptionBudget');
    assert.ok(matches(one(objects, 'Service').spec.selector, labels), 'Service');
    assert.ok(matches(one(objects, 'NetworkPolicy').spec.podSelector.matchLabels, labels), 'NetworkPolicy');
    for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
      assert.ok(hpa.spec.minReplicas >= deployment.spec.replicas || hpa.spec.minReplicas >= 2);
    }
    const volumes = deployment.spec.template.spec.volumes as { name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }[];
    const configMap = volumes.find((v) => v.configMap)!.configMap!.name;
    assert.equal(configMap, one(objects, 'ConfigMap').metadata.name, 'the pod mounts the generated ConfigMap (its hashed name)');
    const claim = volumes.find((v) => v.persistentVolumeClaim)!.persistentVolumeClaim!.claimName;
    assert.ok(
      objects.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === claim && o.spec.accessModes.includes('ReadWriteMany')),
      'photos on a shared volume',
    );
  });

  test(`${overlay}: secrets only by reference, in the env and in the hub's configuration`, { skip: noKubectl }, () => {
    const objects = render(overlay);
    const container = one(objects, 'Deployment').spec.template.spec.containers[0];
    for (const variable of container.env as { name: string; value?: string; valueFrom?: { secretKeyRef?: unknown } }[]) {
      if (/PASSWORD|TOKEN|SECRET|PG_URL/.test(variable.name)) assert.ok(variable.valueFrom?.secretKeyRef, `${variable.name} comes from a Secret`);
      if (variable.value !== undefined) assert.doesNotMatch(variable.value, /:\/\/[^/@]*:(?!\$\()[^/@]*@/, `${variable.name}: a password in a URL is a $(reference)`);
    }
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (/^(password|token|clientSecret)$/.test(key) || (key === 'url' && /postgres|redis|mongo/i.test(path))) {
          assert.ok(typeof value === 'object' && value !== null && ('env' in value || 'file' in value), `${path}/${key} is a reference`);
        }
        walk(value, `${path}/${key}`);
      }
    };
    walk(podSettings(objects).file, '');
  });

  test(`${overlay}: the grace period covers preStop and the hub's own stop, which covers its ingest drain and broker close`, { skip: noKubectl }, () => {
    const objects = render(overlay);
    const pod = one(objects, 'Deployment').spec.template.spec;
    const preStopMs = (pod.containers[0].lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
    const config = loadAccepted(podSettings(objects));
    // The hub's own stop is bounded by its configured grace period (shutdown.gracePeriodMs).
    const hubStopMs = config.shutdown.gracePeriodMs;
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > preStopMs + hubStopMs, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds}`);
    assert.ok(config.ingest.drainTimeoutMs + brokerStopMs < hubStopMs, `ingest.drainTimeoutMs ${config.ingest.drainTimeoutMs} + ${brokerStopMs} ms < ${hubStopMs} ms`);
    assert.equal(one(objects, 'Deployment').spec.strategy.rollingUpdate.maxUnavailable, 0);
  });

  test(`${overlay}: the hub's config loader accepts the ConfigMap and env: shared stores, external broker with shared subscriptions`, { skip: noKubectl }, () => {
    const config = loadAccepted(podSettings(render(overlay)));
    assert.equal(config.state.store, 'postgres');
    assert.equal(config.documents.kind, 'postgres');
    assert.equal(config.live.bus, 'redis');
    assert.equal(config.cache.store, 'redis');
    assert.equal(config.rateLimits.store, 'redis');
    assert.equal(config.mqtt.mode, 'external');
    assert.equal(config.mqtt.external.sharedSubscriptions, true);
    assert.equal(config.mqtt.external.sessionExpirySeconds, 0, 'a gone pod keeps no session that would take a share of the batches');
    assert.equal(config.identity.proxy, true, 'behind the Ingress');
    assert.equal(config.identity.store.kind, 'postgres');
    assert.equal(config.series.kind, 'influx');
    assert.ok(new URL(config.identity.issuer).host === one(render(overlay), 'Ingress').spec.rules[0].host, 'the issuer is the Ingress host');
  });
}

test('staging runs one replica without autoscaling; production three, autoscaled from three', { skip: noKubectl }, () => {
  assert.deepEqual(OVERLAYS.sort(), ['production', 'staging']);
  const staging = render('staging');
  assert.equal(one(staging, 'Deployment').spec.replicas, 1);
  assert.ok(!staging.some((o) => o.kind === 'HorizontalPodAutoscaler'));
  const production = render('production');
  assert.equal(one(production, 'Deployment').spec.replicas, 3);
  assert.equal(one(production, 'HorizontalPodAutoscaler').spec.minReplicas, 3);
  assert.equal(one(production, 'PodDisruptionBudget').spec.maxUnavailable, 1);
});
