export * from './db';
export * from './runs';
export * from './rollouts';
export * from './pairs';
export * from './rubrics';
export * from './axes';
export * from './live';
export * from './reports';
