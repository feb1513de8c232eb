/**
 * How people explore the graph, by mode:
 *  - development: Apollo Sandbox embedded in the landing page (loaded by the browser from Apollo's CDN; the
 *    gateway only serves a small HTML page) and introspection on;
 *  - production: introspection off (unless INTROSPECTION=true); with APOLLO_GRAPH_REF the landing page points to
 *    that graph in GraphOS Studio (whose Explorer reads the schema from Studio, not by introspection), else
 *    no landing page at all.
 * With APOLLO_KEY + APOLLO_GRAPH_REF the gateway reports usage to GraphOS (Apollo's usage reporting plugin) and,
 * unless SUPERGRAPH is set, loads the supergraph from Apollo Uplink (managed federation, config.ts). Both choices
 * are made here from config alone, so nothing else reads APOLLO_* and tests can check the wiring offline.
 */
import type { ApolloConfigInput, ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import {
  ApolloServerPluginLandingPageLocalDefault,
  ApolloServerPluginLandingPageProductionDefault,
} from '@apollo/server/plugin/landingPage/default';
import { ApolloServerPluginUsageReporting } from '@apollo/server/plugin/usageReporting';
import type { GatewayConfig } from '../config.js';
import type { GatewayFeature } from '../feature.js';
import { boolean, type SettingGroup } from '../settings.js';

export type LandingPageChoice = 'sandbox' | 'studio' | 'disabled';

export interface ExplorationSetup {
  landingPage: LandingPageChoice;
  usageReporting: boolean;
  /** Apollo Server's `apollo` option (key + graph ref), or undefined when GraphOS is not configured. */
  apollo: ApolloConfigInput | undefined;
  plugins: ApolloServerPlugin[];
}

export function explorationSetup(config: Pick<GatewayConfig, 'mode' | 'apollo'>): ExplorationSetup {
  const { key, graphRef } = config.apollo;
  const landingPage: LandingPageChoice = config.mode === 'development' ? 'sandbox' : graphRef ? 'studio' : 'disabled';
  const usageReporting = Boolean(key && graphRef);
  const plugins: ApolloServerPlugin[] = [];
  switch (landingPage) {
    case 'sandbox':
      // The embedded Sandbox talks to this same URL; cookies are not needed (identity travels in a header).
      plugins.push(ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false, footer: false }));
      break;
    case 'studio':
      plugins.push(ApolloServerPluginLandingPageProductionDefault({ graphRef: graphRef!, footer: false }));
      break;
    case 'disabled':
      plugins.push(ApolloServerPluginLandingPageDisabled());
      break;
  }
  // Explicit either way, so an APOLLO_KEY left in the environment cannot switch reporting on behind config's back.
  plugins.push(usageReporting ? ApolloServerPluginUsageReporting() : ApolloServerPluginUsageReportingDisabled());
  return { landingPage, usageReporting, apollo: key || graphRef ? { key, graphRef } : undefined, plugins };
}

/** Exploration as a feature: the landing page and usage reporting plugins, and GraphOS's key and graph. */
export function useExploration(config: Pick<GatewayConfig, 'mode' | 'apollo'>): GatewayFeature {
  const { apollo, plugins } = explorationSetup(config);
  return { name: 'exploration', apolloPlugins: plugins, apolloOptions: apollo ? { apollo } : {} };
}

export const INTROSPECTION_SETTINGS = {
  introspection: boolean('INTROSPECTION', { default: (context) => context.mode === 'development', defaultText: 'on in development', doc: 'whether the schema can be introspected (Sandbox, the explorer and codegen need it)' }),
} satisfies SettingGroup;
