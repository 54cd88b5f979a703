/** What the monitoring tests read from deploy/monitoring: dashboard expressions and the metric names files use. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const MONITORING = fileURLToPath(new URL('../../deploy/monitoring/', import.meta.url));
export const DASHBOARD_FILE = `${MONITORING}grafana/dashboards/pulsebridge-gym-chain.json`;

export interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string }[];
  gridPos: { h: number; w: number; x: number; y: number };
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; datasource?: { uid: string }; query: { query: string } }[] };
}

export function dashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every PromQL expression of the dashboard, its variable's query included, with the panel it belongs to. */
export function dashboardExpressions(board = dashboard()): { panel: string; expr: string }[] {
  const panels = board.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
  return panels;
}

/**
 * `expr` as Grafana sends it to Prometheus: its variables replaced by what Grafana puts in their place
 * ($gym with "All" selected is the allValue `.*`).
 */
export function asSent(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '15s').replaceAll('$__range', '1h').replaceAll('$gym', '.*');
}

/** Names of the pb_ metrics an expression reads (histogram series by their _bucket/_sum/_count names). */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(pb_[a-z0-9_]+)/g)].map((m) => m[1] ?? ''))];
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
}

function rules(file: string): Rule[] {
  const parsed = parse(readFileSync(`${MONITORING}rules/${file}`, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  return parsed.groups.flatMap((g) => g.rules);
}

export function ruleExpressions(file: string): { name: string; expr: string }[] {
  return rules(file).map((r) => ({ name: r.alert ?? r.record ?? '?', expr: r.expr }));
}

/** The alerts of rules/pulsebridge-alerts.yml, with their severity label. */
export function alertRules(): { alert: string; severity: string | undefined }[] {
  return rules('pulsebridge-alerts.yml').flatMap((r) => (r.alert === undefined ? [] : [{ alert: r.alert, severity: r.labels?.['severity'] }]));
}

/**
 * Names a Prometheus exposition declares (# HELP/# TYPE) or samples: a labelled counter with no sample yet is
 * declared all the same. A histogram `x` also names x_bucket, x_sum and x_count.
 */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const declared = /^# TYPE (\S+) (\S+)/.exec(line);
    if (declared) {
      const [, name = '', kind] = declared;
      names.add(name);
      if (kind === 'histogram' || kind === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)/.exec(line);
    if (sample?.[1]) names.add(sample[1]);
  }
  return names;
}
