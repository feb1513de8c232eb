/**
 * @apollo/gateway reads APOLLO_TELEMETRY_DISABLED in the ApolloGateway constructor and, unless it is 'true',
 * starts an OTLP metrics exporter to Apollo whose cloud detectors probe metadata addresses. Nothing leaves the
 * machine unless the operator asked for it, so this must run before every `new ApolloGateway`.
 */
import { boolean, type SettingGroup } from './settings.js';

export const APOLLO_TELEMETRY_SETTINGS = {
  enabled: boolean('GATEWAY_APOLLO_TELEMETRY', { default: false, doc: '@apollo/gateway sends anonymous metrics to Apollo unless APOLLO_TELEMETRY_DISABLED=true; the gateway sets that unless you opt in here' }),
} satisfies SettingGroup;

export function applyApolloTelemetryChoice(enabled: boolean): void {
  process.env.APOLLO_TELEMETRY_DISABLED = enabled ? 'false' : 'true';
}
