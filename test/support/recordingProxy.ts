/** The e2e tests' name for the gateway tests' fault proxy: a real HTTP hop that records what reaches a subgraph. */
export { startFaultProxy as startRecordingProxy, type FaultProxy as RecordingProxy, type RecordedRequest } from '../../gateway/test/support/faultProxy.js';
