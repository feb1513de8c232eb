/** Kill the consumer and the source (relay) mid-stream on the feed transport; see test/support/crashScenario.ts. */
import { describeCrashScenario } from '../support/crashScenario.js';

describeCrashScenario('feed');
