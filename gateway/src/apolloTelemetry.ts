/**
 * @apollo/gateway reads APOLLO_TELEMETRY_DISABLED in the ApolloGateway constructor and, unless it is 'true',
 * starts an OTLP metrics exporter to Apollo whose cloud detectors probe metadata addresses. Nothing leaves the
 * machine unless the operator asked for it, so this must run before every `new ApolloGateway`.
 */
export function applyApolloTelemetryChoice(enabled: boolean): void {
  process.env.APOLLO_TELEMETRY_DISABLED = enabled ? 'false' : 'true';
}
