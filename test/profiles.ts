/**
 * A profile kind that ships nowhere (water tanks), for tests that add a kind the way a city would:
 * a file in KIND_PROFILES. Tests that check the loader break one thing in it at a time.
 */
export const TANK_PROFILE = `kind: tank
title: Water tanks
expectedIntervalS: 300
fields:
  levelM: { type: number, unit: m, min: 0, max: 10, required: true }
  pump: { type: enum, values: [idle, running, fault] }
  alarm: { type: boolean }
attributes:
  site: { type: string, required: true }
  highM: { type: number, unit: m, min: 0, max: 10, default: 9 }
aggregates:
  - { name: meanLevelM, op: mean, field: levelM }
  - { name: maxLevelM, op: max, field: levelM }
  # Block style (as YAML allows): the tanks over their own line, and for how long.
  - name: tanksHigh
    op: count
    when:
      field: levelM
      op: gt
      value:
        attribute: highM
  - name: secondsHigh
    op: timeOver
    when:
      field: levelM
      op: gt
      value:
        attribute: highM
alerts:
  - alert: TankHigh
    severity: major
    when: { field: levelM, op: gt, value: { attribute: highM } }
    summary: "{site}: tank {nodeId} at {value} m"
simulate:
  normal: { levelM: [4, 6], pump: idle, alarm: false }
  scenarios:
    pump-fault: { share: 0.1, rampS: 600, values: { pump: fault, levelM: [9.5, 10], alarm: true } }
`;
